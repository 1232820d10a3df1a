use super::*;

#[test]
fn shapes_follow_ggml_rules() {
    let mut g = Graph::new();
    let w = g.weight_meta("w", GgmlType::Q4_0, &[64, 16]).unwrap();
    let x = g.input("x", GgmlType::F32, &[64, 3]).unwrap();
    let y = g.mul_mat(w, x).unwrap();
    assert_eq!(g.ne(y).unwrap(), [16, 3, 1, 1]);
    let bad = g.input("b", GgmlType::F32, &[63, 3]).unwrap();
    assert!(g.mul_mat(w, bad).is_err());
    let b = g.input("bias", GgmlType::F32, &[16]).unwrap();
    assert!(g.add(y, b).is_ok());
    assert!(g.add(b, y).is_err());
    let t = g.transpose(y).unwrap();
    assert_eq!(g.ne(t).unwrap(), [3, 16, 1, 1]);
    assert!(g.reshape(t, &[48]).is_err());
    let c = g.cont(t).unwrap();
    assert!(g.reshape(c, &[48]).is_ok());
    let p = g.permute(y, [2, 0, 1, 3]).unwrap();
    assert_eq!(g.ne(p).unwrap(), [3, 1, 16, 1]);
    assert!(g.view_2d(y, 16, 4, 64, 0).is_err());
    assert_eq!(g.nodes().len(), 3);
}

#[test]
fn attention_shapes() {
    let mut g = Graph::new();
    let q = g.input("q", GgmlType::F32, &[64, 5, 8]).unwrap();
    let k = g.input("k", GgmlType::F16, &[64, 32, 2]).unwrap();
    let v = g.input("v", GgmlType::F16, &[64, 32, 2]).unwrap();
    let m = g.input("m", GgmlType::F16, &[32, 5]).unwrap();
    let o = g
        .flash_attn_ext(q, k, v, Some(m), None, 0.125, 0.0, 0.0)
        .unwrap();
    assert_eq!(g.ne(o).unwrap(), [64, 8, 5, 1]);
    let pos = g.input("pos", GgmlType::I32, &[5]).unwrap();
    let qh = g.reshape(q, &[64, 8, 5]).unwrap();
    assert!(g
        .rope_ext(qh, pos, None, RopeParams::simple(64, RopeMode::Neox, 1e4))
        .is_ok());
    assert!(g
        .rope_ext(q, pos, None, RopeParams::simple(64, RopeMode::Neox, 1e4))
        .is_err());
}
