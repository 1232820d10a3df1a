//! GGUF reader: every shared model opens; strict prefixes and corrupted headers are errors,
//! never panics; the writer round-trips every value type; split models open as one.

mod common;

use llama::gguf::{Array, GgufFile, GgufWriter, Value};
use llama::quant::GgmlType;
use llama::ErrorKind;

fn sample_file() -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.set("general.architecture", Value::String(b"llama".to_vec()));
    w.set("general.alignment", Value::U32(64));
    w.set("a.u8", Value::U8(7));
    w.set("a.i16", Value::I16(-3));
    w.set("a.f64", Value::F64(1.5));
    w.set("a.bool", Value::Bool(true));
    w.set("dup.a", Value::U32(1));
    w.set("dup.b", Value::U32(2));
    w.set(
        "a.strs",
        Value::Array(Array::String(vec![b"x".to_vec(), vec![0xff, 0x00]])),
    );
    w.set(
        "a.nested",
        Value::Array(Array::Array(vec![
            Array::I32(vec![1, -2]),
            Array::F32(vec![0.5]),
        ])),
    );
    w.add_tensor("t0", GgmlType::F32, &[4, 2], vec![1; 32])
        .unwrap();
    w.add_tensor("t1", GgmlType::Q8_0, &[64], vec![2; 68])
        .unwrap();
    w.add_tensor("t2", GgmlType::F16, &[3], vec![3; 6]).unwrap();
    w.to_bytes()
}

#[test]
fn writer_round_trips_every_value_type() {
    let bytes = sample_file();
    let g = GgufFile::parse_bytes("sample", bytes).unwrap();
    assert_eq!(g.version(), 3);
    assert_eq!(g.alignment(), 64);
    assert_eq!(g.get_str("general.architecture").unwrap(), Some("llama"));
    assert_eq!(g.get_u32("a.u8").unwrap(), Some(7));
    assert_eq!(g.get_i32("a.i16").unwrap(), Some(-3));
    assert!(
        g.get_u32("a.i16").is_err(),
        "negative value must not convert to u32"
    );
    assert_eq!(g.get_f32("a.f64").unwrap(), Some(1.5));
    assert_eq!(g.get_bool("a.bool").unwrap(), Some(true));
    assert_eq!(
        g.get_str_array("a.strs").unwrap().unwrap(),
        vec![&b"x"[..], &[0xff, 0x00][..]]
    );
    match g.get("a.nested") {
        Some(Value::Array(Array::Array(v))) => assert_eq!(v[0], Array::I32(vec![1, -2])),
        other => panic!("nested array lost: {other:?}"),
    }
    let t1 = g.tensor("t1").unwrap();
    assert_eq!((t1.ty, t1.n_bytes, t1.offset % 64), (GgmlType::Q8_0, 68, 0));
    assert_eq!(g.tensor_data(t1), &[2u8; 68][..]);
    assert_eq!(g.tensor_data(g.tensor("t2").unwrap()), &[3u8; 6][..]);
    assert!(g.get_str("a.u8").is_err(), "wrong type is an error");
}

#[test]
fn version_2_files_parse_like_version_3() {
    // v2 and v3 share the layout (64-bit counts); v3 only added big-endian files.
    let v2 = patch(&sample_file(), 4, &2u32.to_le_bytes());
    let g = GgufFile::parse_bytes("v2", v2).unwrap();
    assert_eq!(g.version(), 2);
    assert_eq!(g.tensors().len(), 3);
}

#[test]
fn every_strict_prefix_is_an_error() {
    let bytes = sample_file();
    for n in 0..bytes.len() {
        let r = GgufFile::parse_bytes("prefix", bytes[..n].to_vec());
        let e = r.expect_err(&format!("prefix of {n} bytes parsed"));
        assert_eq!(e.kind, ErrorKind::Format, "{e}");
    }
}

#[test]
fn prefixes_of_a_real_model_are_errors() {
    let Some(path) = common::shared_models()
        .into_iter()
        .find(|p| p.ends_with("qwen3-Q4_K_M.gguf"))
    else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let g = GgufFile::parse_bytes("full", bytes.clone()).unwrap();
    let data_start = g.tensors().iter().map(|t| t.offset).min().unwrap() as usize;
    // Every prefix inside the header, then a sample of prefixes inside the data.
    let cuts = (0..data_start).chain((data_start..bytes.len()).step_by(4093));
    for n in cuts {
        assert!(
            GgufFile::parse_bytes("prefix", bytes[..n].to_vec()).is_err(),
            "prefix {n}"
        );
    }
}

/// Offsets of the header fields of `sample_file()`, found by parsing it ourselves.
fn patch(bytes: &[u8], at: usize, new: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at..at + new.len()].copy_from_slice(new);
    b
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn corrupted_headers_are_errors_that_say_why() {
    let good = sample_file();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad magic", patch(&good, 0, b"GGUX"), "magic"),
        ("version 1", patch(&good, 4, &1u32.to_le_bytes()), "version"),
        (
            "version 99",
            patch(&good, 4, &99u32.to_le_bytes()),
            "version",
        ),
        (
            "huge tensor count",
            patch(&good, 8, &u64::MAX.to_le_bytes()),
            "count",
        ),
        (
            "huge kv count",
            patch(&good, 16, &(1u64 << 40).to_le_bytes()),
            "count",
        ),
        (
            "huge string length",
            patch(&good, 24, &(1u64 << 50).to_le_bytes()),
            "string length",
        ),
        (
            "bad value type",
            {
                let at = find(&good, b"general.architecture") + 20;
                patch(&good, at, &77u32.to_le_bytes())
            },
            "value type",
        ),
        (
            "bad ggml type",
            {
                // t0's type field: after name(8+2), n_dims(4), ne(2*8)
                let at = find(&good, b"t0") + 2 + 4 + 16;
                patch(&good, at, &31u32.to_le_bytes())
            },
            "ggml type",
        ),
        (
            "too many dims",
            patch(&good, find(&good, b"t0") + 2, &5u32.to_le_bytes()),
            "dimensions",
        ),
        (
            "offset past end",
            {
                let at = find(&good, b"t2") + 2 + 4 + 8 + 4;
                patch(&good, at, &(1u64 << 20).to_le_bytes())
            },
            "past the end",
        ),
        (
            "overlapping tensors",
            {
                let at = find(&good, b"t1") + 2 + 4 + 8 + 4;
                patch(&good, at, &0u64.to_le_bytes())
            },
            "overlap",
        ),
        (
            "misaligned offset",
            {
                let at = find(&good, b"t2") + 2 + 4 + 8 + 4;
                let off = u64::from_le_bytes(good[at..at + 8].try_into().unwrap());
                patch(&good, at, &(off + 1).to_le_bytes())
            },
            "alignment",
        ),
        (
            "bad alignment",
            {
                let at = find(&good, b"general.alignment") + 17 + 4;
                patch(&good, at, &48u32.to_le_bytes())
            },
            "alignment",
        ),
        (
            "duplicate key",
            {
                let at = find(&good, b"dup.b");
                patch(&good, at, b"dup.a")
            },
            "duplicate key",
        ),
        (
            "huge dimension",
            {
                let at = find(&good, b"t0") + 2 + 4;
                patch(&good, at, &(u64::MAX / 2).to_le_bytes())
            },
            "overflows",
        ),
    ];
    for (what, bytes, needle) in cases {
        let e = GgufFile::parse_bytes("bad.gguf", bytes).expect_err(what);
        assert!(
            e.context.contains("bad.gguf"),
            "{what}: error does not name the file: {e}"
        );
        assert!(
            e.context.contains(needle),
            "{what}: error does not say why: {e}"
        );
    }
}

#[test]
fn every_shared_model_opens() {
    let models = common::shared_models();
    for path in &models {
        let g = GgufFile::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            g.get_str("general.architecture").unwrap().is_some(),
            "{}",
            path.display()
        );
        assert!(!g.tensors().is_empty());
        for t in g.tensors() {
            assert_eq!(g.tensor_data(t).len() as u64, t.n_bytes);
        }
    }
    if let Some(dir) = common::shared_dir() {
        for e in std::fs::read_dir(dir.join("data/vocab")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "gguf") {
                let g = GgufFile::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert!(g.get_str_array("tokenizer.ggml.tokens").unwrap().is_some());
            }
        }
    }
}

#[test]
fn split_models_open_as_one() {
    let dir = std::env::temp_dir().join(format!("ferrollama-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..3u16 {
        let mut w = GgufWriter::new();
        if i == 0 {
            w.set("general.architecture", Value::String(b"llama".to_vec()));
        }
        w.set("split.no", Value::U16(i));
        w.set("split.count", Value::U16(3));
        w.set("split.tensors.count", Value::I32(3));
        w.add_tensor(&format!("t{i}"), GgmlType::F32, &[2], vec![i as u8; 8])
            .unwrap();
        w.write_to(&dir.join(format!("m-{:05}-of-00003.gguf", i + 1)))
            .unwrap();
    }
    let g = GgufFile::open(&dir.join("m-00001-of-00003.gguf")).unwrap();
    assert_eq!(g.tensors().len(), 3);
    assert_eq!(g.paths().len(), 3);
    assert_eq!(g.tensor_data(g.tensor("t2").unwrap()), &[2u8; 8][..]);
    std::fs::remove_file(dir.join("m-00002-of-00003.gguf")).unwrap();
    assert!(GgufFile::open(&dir.join("m-00001-of-00003.gguf")).is_err());
    std::fs::remove_dir_all(&dir).ok();
}
