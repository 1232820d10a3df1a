//! Replays sampler vectors recorded from upstream's libllama (tests/sampling_ref/vectors.txt,
//! written by tests/sampling_ref/gen_ref.py) through the Rust samplers and compares every output
//! bit for bit: size, selected, sorted, the start offset, ids, logits and probabilities.

use llama::sampling::{
    Chain, Dist, Greedy, LogitBias, LogitBiasEntry, MinP, Mirostat, MirostatV2, Penalties, Sampler,
    Temp, TempExt, TokenData, TokenDataArray, TopK, TopNSigma, TopP, Typical, Xtc,
};

struct XorShift(u32);
impl XorShift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

fn gen_logits(seed: u32, n: usize, kind: &str) -> Vec<f32> {
    let mut g = XorShift(seed.wrapping_mul(2_654_435_761).wrapping_add(1));
    (0..n)
        .map(|_| {
            let x = g.next();
            match kind {
                "normal" => ((x % 20001) as f32 - 10000.0) / 1500.0,
                "ties" => (x % 9) as f32 - 4.0,
                "small" => ((x % 2001) as f32 - 1000.0) / 3000.0,
                other => panic!("unknown kind {other}"),
            }
        })
        .collect()
}

fn fnv(entries: &[TokenData]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in entries {
        for v in [t.id as u32, t.logit.to_bits(), t.p.to_bits()] {
            for b in v.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    h
}

fn make(spec: &str) -> Box<dyn Sampler> {
    let parts: Vec<&str> = spec.split(':').collect();
    let f = |i: usize| parts[i].parse::<f32>().unwrap();
    let int = |i: usize| parts[i].parse::<i64>().unwrap();
    match parts[0] {
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
        "logit_bias" => {
            let entries: Vec<LogitBiasEntry> = parts[2]
                .split(',')
                .map(|p| {
                    let (t, b) = p.split_once('=').unwrap();
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
    let text = include_str!("sampling_ref/vectors.txt");
    let mut lines = text.lines().peekable();
    let mut n_cases = 0;
    let mut n_rounds = 0;
    let mut failures = Vec::new();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("case ") else {
            continue;
        };
        n_cases += 1;
        let specs: Vec<&str> = lines
            .next()
            .unwrap()
            .strip_prefix("chain ")
            .unwrap()
            .split(' ')
            .collect();
        let names: Vec<&str> = lines
            .next()
            .unwrap()
            .strip_prefix("names ")
            .unwrap()
            .split(' ')
            .collect();
        let mut chain = Chain::new(true);
        for s in &specs {
            chain.add(make(s));
        }
        let got_names: Vec<&str> = (0..chain.len())
            .map(|i| chain.get(i).unwrap().name())
            .collect();
        assert_eq!(got_names, names, "{name}: sampler names");
        let mut round = 0;
        loop {
            let l = lines.next().unwrap();
            if l == "end" {
                break;
            }
            assert_eq!(l, "round");
            round += 1;
            n_rounds += 1;
            let mut l = lines.next().unwrap();
            if let Some(acc) = l.strip_prefix("accept ") {
                for t in acc.split(' ') {
                    chain.accept(t.parse().unwrap());
                }
                l = lines.next().unwrap();
            }
            let inp: Vec<&str> = l.strip_prefix("in ").unwrap().split(' ').collect();
            let logits = gen_logits(inp[0].parse().unwrap(), inp[1].parse().unwrap(), inp[2]);
            let mut buf = llama::sampling::candidates_from_logits(&logits);
            let base = buf.as_ptr() as usize;
            let mut arr = TokenDataArray::new(&mut buf);
            chain.apply(&mut arr);
            let off = (arr.data.as_ptr() as usize - base) / std::mem::size_of::<TokenData>();

            let out: Vec<i64> = lines
                .next()
                .unwrap()
                .strip_prefix("out ")
                .unwrap()
                .split(' ')
                .map(|v| v.parse().unwrap())
                .collect();
            let exp_data: Vec<TokenData> = lines
                .next()
                .unwrap()
                .strip_prefix("outdata")
                .unwrap()
                .split_whitespace()
                .map(|e| {
                    let v: Vec<&str> = e.split(':').collect();
                    TokenData {
                        id: v[0].parse().unwrap(),
                        logit: f32::from_bits(u32::from_str_radix(v[1], 16).unwrap()),
                        p: f32::from_bits(u32::from_str_radix(v[2], 16).unwrap()),
                    }
                })
                .collect();
            let exp_hash =
                u64::from_str_radix(lines.next().unwrap().strip_prefix("hash ").unwrap(), 16)
                    .unwrap();

            let got = [
                arr.size() as i64,
                arr.selected,
                i64::from(arr.sorted),
                off as i64,
            ];
            let mut ok = got[..] == out[..];
            let m = exp_data.len().min(arr.size());
            let first_bad = (0..m).find(|&k| {
                let (a, b) = (arr.data[k], exp_data[k]);
                a.id != b.id
                    || a.logit.to_bits() != b.logit.to_bits()
                    || a.p.to_bits() != b.p.to_bits()
            });
            if first_bad.is_some() || fnv(arr.data) != exp_hash {
                ok = false;
            }
            if !ok {
                failures.push(format!(
                    "{name} round {round}: got [size sel sorted off] {got:?} want {out:?}; first differing entry {:?}: got {:?} want {:?}",
                    first_bad,
                    first_bad.map(|k| arr.data[k]),
                    first_bad.map(|k| exp_data[k]),
                ));
            }
            if let Some(t) = arr.selected_token() {
                chain.accept(t);
            }
        }
    }
    assert!(n_cases >= 70, "only {n_cases} cases read");
    assert!(
        failures.is_empty(),
        "{} of {n_rounds} rounds differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
