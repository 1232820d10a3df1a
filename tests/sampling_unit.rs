//! Sampler semantics from upstream's tests/test-sampling.cpp (inputs and expected probabilities
//! carried over as facts), plus chain, clone, reset and seed behaviour.

use llama::sampling::{
    rng::Mt19937, Chain, Dist, Dry, Greedy, MinP, Penalties, Sampler, Temp, TempExt, TokenData,
    TokenDataArray, TopK, TopNSigma, TopP, Typical, Xtc, LLAMA_DEFAULT_SEED,
};

/// Candidates with logit = ln(p), as test-sampling.cpp builds them.
fn from_probs(probs: &[f32]) -> Vec<TokenData> {
    probs
        .iter()
        .enumerate()
        .map(|(i, &p)| TokenData {
            id: i as i32,
            logit: p.ln(),
            p,
        })
        .collect()
}

/// Applies each sampler in turn, then dist(0) to get probabilities; returns the final p's.
fn run(probs: &[f32], samplers: Vec<Box<dyn Sampler>>) -> Vec<f32> {
    let mut buf = from_probs(probs);
    let mut arr = TokenDataArray::new(&mut buf);
    for mut s in samplers {
        s.apply(&mut arr);
    }
    Dist::new(0).apply(&mut arr);
    arr.data.iter().map(|t| t.p).collect()
}

fn check(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "got {got:?} want {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5, "got {got:?} want {want:?}");
    }
}

const P4: [f32; 4] = [0.1, 0.2, 0.3, 0.4];

#[test]
fn temp() {
    check(&run(&P4, vec![Temp::new(1.0)]), &P4);
    check(&run(&P4, vec![Temp::new(0.0)]), &[0.0, 0.0, 0.0, 1.0]);
    check(&run(&P4, vec![TempExt::new(1.0, 0.0, 1.0)]), &P4);
    check(
        &run(&P4, vec![TempExt::new(0.0, 0.0, 1.0)]),
        &[0.0, 0.0, 0.0, 1.0],
    );
}

#[test]
fn top_k() {
    check(&run(&P4, vec![TopK::new(1)]), &[1.0]);
    check(&run(&P4, vec![TopK::new(3)]), &[0.44444, 0.33333, 0.22222]);
    check(&run(&P4, vec![TopK::new(4)]), &[0.4, 0.3, 0.2, 0.1]);
    check(&run(&P4, vec![TopK::new(0)]), &P4);
}

#[test]
fn top_p() {
    check(&run(&P4, vec![TopP::new(0.0, 1)]), &[1.0]);
    check(&run(&P4, vec![TopP::new(0.7, 1)]), &[0.571429, 0.428571]);
    check(
        &run(&P4, vec![TopP::new(0.8, 1)]),
        &[0.44444, 0.33333, 0.22222],
    );
    check(&run(&P4, vec![TopP::new(1.0, 1)]), &P4);
}

#[test]
fn min_p() {
    check(&run(&P4, vec![MinP::new(0.0, 1)]), &P4);
    check(&run(&P4, vec![MinP::new(0.24, 1)]), &P4);
    check(
        &run(&P4, vec![MinP::new(0.26, 1)]),
        &[0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9],
    );
    check(
        &run(&P4, vec![MinP::new(0.49, 1)]),
        &[0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9],
    );
    check(&run(&P4, vec![MinP::new(0.51, 1)]), &[0.3 / 0.7, 0.4 / 0.7]);
    check(&run(&P4, vec![MinP::new(0.74, 1)]), &[0.3 / 0.7, 0.4 / 0.7]);
    check(&run(&P4, vec![MinP::new(0.76, 1)]), &[1.0]);
    check(&run(&P4, vec![MinP::new(1.0, 1)]), &[1.0]);
    check(&run(&P4, vec![MinP::new(1.05, 1)]), &[1.0]);
}

#[test]
fn xtc() {
    let p = [0.4f32, 0.3, 0.2, 0.1];
    check(&run(&p, vec![Xtc::new(0.99, 0.09, 0, 0)]), &[1.0]);
    check(
        &run(&p, vec![Xtc::new(0.99, 0.19, 0, 0)]),
        &[2.0 / 3.0, 1.0 / 3.0],
    );
    check(
        &run(&p, vec![Xtc::new(0.99, 0.29, 0, 0)]),
        &[0.5, 1.0 / 3.0, 1.0 / 6.0],
    );
    check(&run(&p, vec![Xtc::new(0.99, 0.39, 0, 0)]), &p);
}

#[test]
fn typical() {
    check(
        &run(&[0.97, 0.01, 0.01, 0.01], vec![Typical::new(0.5, 1)]),
        &[1.0],
    );
    check(
        &run(&[0.4, 0.2, 0.2, 0.2], vec![Typical::new(0.5, 1)]),
        &[1.0 / 3.0; 3],
    );
}

#[test]
fn penalties() {
    let p5 = [0.2f32; 5];
    // (accepted tokens, expected p, repeat, freq, present)
    type Case = (&'static [i32], [f32; 5], f32, f32, f32);
    let cases: [Case; 6] = [
        (&[0], [0.0, 0.25, 0.25, 0.25, 0.25], 50.0, 0.0, 0.0),
        (&[0, 1, 2], [0.0, 0.0, 0.0, 0.5, 0.5], 50.0, 0.0, 0.0),
        (&[0, 1, 2, 0, 0], [0.0, 0.0, 0.0, 0.5, 0.5], 50.0, 0.0, 0.0),
        (
            &[0],
            [0.000011, 0.249997, 0.249997, 0.249997, 0.249997],
            1.0,
            5.0,
            5.0,
        ),
        (
            &[0, 1, 2],
            [0.000023, 0.000023, 0.000023, 0.499966, 0.499966],
            1.0,
            5.0,
            5.0,
        ),
        (
            &[0, 1, 2, 0, 0],
            [0.0, 0.000023, 0.000023, 0.499977, 0.499977],
            1.0,
            5.0,
            5.0,
        ),
    ];
    for (prev, want, rep, freq, pres) in cases {
        let mut s = Penalties::new(5, 5, rep, freq, pres);
        for &t in prev {
            s.accept(t);
        }
        check(&run(&p5, vec![s]), &want);
    }
}

#[test]
fn top_n_sigma() {
    check(
        &run(&P4, vec![TopNSigma::new(1.0)]),
        &[0.0, 0.0, 0.428571, 0.571429],
    );
    check(&run(&P4, vec![TopNSigma::new(0.0)]), &P4);
    check(&run(&P4, vec![TopNSigma::new(3.0)]), &P4);
}

#[test]
fn dist_singleton_keeps_rng_aligned() {
    // one-candidate apply still consumes a draw (upstream's test_dist_singleton_rng)
    let mut a = Dist::new(4242);
    let mut b = Dist::new(4242);
    llama::sampling::sample_logits(&mut a, &[0.0]);
    llama::sampling::sample_logits(&mut b, &[0.0, 0.0]);
    let logits = vec![0.0f32; 256];
    for _ in 0..4 {
        assert_eq!(
            llama::sampling::sample_logits(&mut a, &logits),
            llama::sampling::sample_logits(&mut b, &logits)
        );
    }
}

#[test]
fn mt19937_reference_values() {
    let mut r = Mt19937::new(5489);
    assert_eq!(r.next_u32(), 3_499_211_612);
    assert_eq!(r.next_u32(), 581_869_302);
    assert_eq!(r.next_u32(), 3_890_346_734);
}

#[test]
fn names_of_noop_samplers() {
    assert_eq!(TopK::new(0).name(), "?top-k");
    assert_eq!(TopP::new(1.0, 1).name(), "?top-p");
    assert_eq!(MinP::new(0.0, 1).name(), "?min-p");
    assert_eq!(Temp::new(1.0).name(), "?temp");
    assert_eq!(Penalties::new(10, 0, 1.1, 0.0, 0.0).name(), "?penalties");
    assert_eq!(TopK::new(5).name(), "top-k");
}

#[test]
fn chain_clone_reset_seed() {
    let mut chain = Chain::new(false);
    chain.add(TopK::new(10));
    chain.add(Box::new(Dist::new(77)));
    assert_eq!(chain.current_seed(), 77);
    let logits: Vec<f32> = (0..100).map(|i| ((i * 37) % 100) as f32 / 10.0).collect();
    let first: Vec<i32> = (0..5)
        .map(|_| llama::sampling::sample_logits(&mut chain, &logits).unwrap())
        .collect();
    assert_eq!(chain.perf().n_sample, 5);
    chain.reset();
    let mut clone = chain.try_clone().unwrap();
    let again: Vec<i32> = (0..5)
        .map(|_| llama::sampling::sample_logits(&mut chain, &logits).unwrap())
        .collect();
    let cloned: Vec<i32> = (0..5)
        .map(|_| llama::sampling::sample_logits(clone.as_mut(), &logits).unwrap())
        .collect();
    assert_eq!(first, again);
    assert_eq!(first, cloned);

    let mut g = Chain::new(true);
    g.add(Box::new(Greedy::new()));
    assert_eq!(g.current_seed(), LLAMA_DEFAULT_SEED);
    assert_eq!(
        llama::sampling::sample_logits(&mut g, &[1.0, 3.0, 3.0, 2.0]),
        Some(1)
    );
    assert!(g.remove(0).is_some());
    assert!(g.remove(0).is_none());
}

#[test]
fn dry() {
    // (probs, accepted tokens, expected p, multiplier, base, allowed_length, last_n, breakers)
    type Case = (
        &'static [f32],
        &'static [i32],
        &'static [f32],
        f32,
        f32,
        i32,
        i32,
        Vec<(i32, Vec<i32>)>,
    );
    let cases: Vec<Case> = vec![
        (&[0.25; 4], &[0, 1], &[0.25; 4], 1.0, 1.1, 2, 4, vec![]),
        (
            &[0.25; 4],
            &[0, 1, 2, 0, 1],
            &[0.296923, 0.296923, 0.109232, 0.296923],
            1.0,
            1.1,
            2,
            5,
            vec![],
        ),
        (
            &[0.2; 5],
            &[0, 1, 3, 4, 0, 1],
            &[0.2; 5],
            1.0,
            1.1,
            2,
            6,
            vec![(3, vec![])],
        ),
        (
            &[0.2; 5],
            &[0, 1, 2, 0, 1],
            &[0.241818, 0.241818, 0.032727, 0.241818, 0.241818],
            2.0,
            1.1,
            2,
            5,
            vec![],
        ),
        (
            &[0.2; 5],
            &[0, 1, 2, 3, 4, 0, 1],
            &[0.2; 5],
            1.0,
            1.1,
            4,
            7,
            vec![],
        ),
    ];
    for (probs, prev, want, mult, base, allowed, last_n, breakers) in cases {
        let mut s = Dry::new(mult, base, allowed, last_n, breakers);
        for &t in prev {
            s.accept(t);
        }
        check(&run(probs, vec![s]), want);
    }
}

#[test]
fn dry_breaker_processing() {
    // vocabulary: 0 "a", 1 "b:", 2 "\n", 3 "x\n", 4 "c"
    let words: [&[u8]; 5] = [b"a", b"b:", b"\n", b"x\n", b"c"];
    let breakers: [&[u8]; 2] = [b"\n", b":c"];
    let tok = |s: &[u8]| -> Vec<i32> { s.iter().map(|&c| if c == b'c' { 4 } else { 0 }).collect() };
    let out =
        llama::sampling::dry::process_breakers(5, |t| words[t as usize].to_vec(), tok, &breakers);
    // "\n" is inside tokens 2 and 3; ":c" starts at the end of "b:" with tail "c"
    assert_eq!(out, vec![(2, vec![]), (3, vec![]), (1, vec![4])]);
    assert_eq!(Dry::new(0.0, 1.75, 2, 64, vec![]).name(), "?dry");
}
