//! Reading tests/sampling_ref/vectors.txt (recorded from upstream's libllama by gen_ref.py).

#![allow(dead_code)]

use llama::sampling::TokenData;

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

/// The input logits of a round, generated exactly as gen_ref.py does.
pub fn gen_logits(seed: u32, n: usize, kind: &str) -> Vec<f32> {
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

/// FNV-1a over (id, logit bits, p bits) of every candidate.
pub fn fnv(entries: &[TokenData]) -> u64 {
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

/// One apply of the chain.
pub struct Round {
    pub accept: Vec<i32>,
    pub logits: Vec<f32>,
    /// size, selected, sorted, offset of the data start
    pub out: [i64; 4],
    pub data_head: Vec<TokenData>,
    pub hash: u64,
}

/// One chain over several rounds.
pub struct Case {
    pub name: String,
    pub specs: Vec<String>,
    pub names: Vec<String>,
    pub rounds: Vec<Round>,
}

/// The cases of vectors.txt.
pub fn cases() -> Vec<Case> {
    cases_from(include_str!("vectors.txt"))
}

/// The cases of one vectors file.
pub fn cases_from(text: &str) -> Vec<Case> {
    let mut lines = text.lines();
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        let Some(name) = line.strip_prefix("case ") else {
            continue;
        };
        let specs = lines.next().unwrap()["chain ".len()..]
            .split(' ')
            .map(String::from)
            .collect();
        let names = lines.next().unwrap()["names ".len()..]
            .split(' ')
            .map(String::from)
            .collect();
        let mut rounds = Vec::new();
        loop {
            let l = lines.next().unwrap();
            if l == "end" {
                break;
            }
            assert_eq!(l, "round");
            let mut l = lines.next().unwrap();
            let mut accept = Vec::new();
            if let Some(acc) = l.strip_prefix("accept ") {
                accept = acc.split(' ').map(|t| t.parse().unwrap()).collect();
                l = lines.next().unwrap();
            }
            let inp: Vec<&str> = l["in ".len()..].split(' ').collect();
            let logits = gen_logits(inp[0].parse().unwrap(), inp[1].parse().unwrap(), inp[2]);
            let o: Vec<i64> = lines.next().unwrap()["out ".len()..]
                .split(' ')
                .map(|v| v.parse().unwrap())
                .collect();
            let data_head = lines.next().unwrap()["outdata".len()..]
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
            let hash = u64::from_str_radix(&lines.next().unwrap()["hash ".len()..], 16).unwrap();
            rounds.push(Round {
                accept,
                logits,
                out: [o[0], o[1], o[2], o[3]],
                data_head,
                hash,
            });
        }
        out.push(Case {
            name: name.to_string(),
            specs,
            names,
            rounds,
        });
    }
    out
}

/// Compares one round's result; `Err` describes the first difference.
pub fn check(
    r: &Round,
    data: &[TokenData],
    selected: i64,
    sorted: bool,
    offset: usize,
) -> Result<(), String> {
    let got = [
        data.len() as i64,
        selected,
        i64::from(sorted),
        offset as i64,
    ];
    if got != r.out {
        return Err(format!(
            "[size selected sorted offset] got {got:?} want {:?}",
            r.out
        ));
    }
    for (k, (a, b)) in data.iter().zip(&r.data_head).enumerate() {
        if a.id != b.id || a.logit.to_bits() != b.logit.to_bits() || a.p.to_bits() != b.p.to_bits()
        {
            return Err(format!("entry {k}: got {a:?} want {b:?}"));
        }
    }
    if fnv(data) != r.hash {
        return Err("hash of all candidates differs".into());
    }
    Ok(())
}

/// Splits `kind:a:b:...`.
pub fn parts(spec: &str) -> Vec<&str> {
    spec.split(':').collect()
}
