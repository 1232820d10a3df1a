//! Replays sampler vectors recorded from upstream's libllama (tests/sampling_ref/vectors.txt,
//! written by tests/sampling_ref/gen_ref.py) through the Rust samplers and compares every output
//! bit for bit: size, selected, sorted, the start offset, ids, logits and probabilities.

#[path = "sampling_ref/common.rs"]
mod common;

use llama::sampling::{
    AdaptiveP, Chain, Dist, Greedy, LogitBias, LogitBiasEntry, MinP, Mirostat, MirostatV2,
    Penalties, Sampler, Temp, TempExt, TokenData, TokenDataArray, TopK, TopNSigma, TopP, Typical,
    Xtc,
};

fn make(spec: &str) -> Box<dyn Sampler> {
    let p = common::parts(spec);
    let f = |i: usize| p[i].parse::<f32>().unwrap();
    let int = |i: usize| p[i].parse::<i64>().unwrap();
    match p[0] {
        "greedy" => Box::new(Greedy::new()),
        "dist" => Box::new(Dist::new(int(1) as u32)),
        "top_k" => TopK::new(int(1) as i32),
        "top_p" => TopP::new(f(1), int(2) as usize),
        "min_p" => MinP::new(f(1), int(2) as usize),
        "typical" => Typical::new(f(1), int(2) as usize),
        "temp" => Temp::new(f(1)),
        "temp_ext" => TempExt::new(f(1), f(2), f(3)),
        "xtc" => Xtc::new(f(1), f(2), int(3) as usize, int(4) as u32),
        "top_n_sigma" => TopNSigma::new(f(1)),
        "mirostat" => Box::new(Mirostat::new(
            int(1) as i32,
            int(2) as u32,
            f(3),
            f(4),
            int(5) as i32,
        )),
        "mirostat_v2" => Box::new(MirostatV2::new(int(1) as u32, f(2), f(3))),
        "penalties" => Penalties::new(int(1) as i32, int(2) as i32, f(3), f(4), f(5)),
        "adaptive_p" => Box::new(AdaptiveP::new(f(1), f(2), int(3) as u32)),
        "logit_bias" => {
            let entries: Vec<LogitBiasEntry> = p[2]
                .split(',')
                .map(|e| {
                    let (t, b) = e.split_once('=').unwrap();
                    LogitBiasEntry {
                        token: t.parse().unwrap(),
                        bias: b.parse().unwrap(),
                    }
                })
                .collect();
            LogitBias::new(int(1) as i32, &entries)
        }
        other => panic!("unknown sampler {other}"),
    }
}

#[test]
fn samplers_match_upstream_vectors() {
    let cases = common::cases();
    assert!(cases.len() >= 80, "only {} cases read", cases.len());
    let mut failures = Vec::new();
    let mut n_rounds = 0;
    for case in &cases {
        let mut chain = Chain::new(true);
        for s in &case.specs {
            chain.add(make(s));
        }
        let got_names: Vec<&str> = (0..chain.len())
            .map(|i| chain.get(i).unwrap().name())
            .collect();
        assert_eq!(got_names, case.names, "{}: sampler names", case.name);
        for (ri, r) in case.rounds.iter().enumerate() {
            n_rounds += 1;
            for &t in &r.accept {
                chain.accept(t);
            }
            let mut buf = llama::sampling::candidates_from_logits(&r.logits);
            let base = buf.as_ptr() as usize;
            let mut arr = TokenDataArray::new(&mut buf);
            chain.apply(&mut arr);
            let off = (arr.data.as_ptr() as usize - base) / std::mem::size_of::<TokenData>();
            if let Err(e) = common::check(r, arr.data, arr.selected, arr.sorted, off) {
                failures.push(format!("{} round {}: {e}", case.name, ri + 1));
            }
            if let Some(t) = arr.selected_token() {
                chain.accept(t);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n_rounds} rounds differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
