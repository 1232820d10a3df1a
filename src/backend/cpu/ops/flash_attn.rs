//! `flash_attn_ext`: one pass over the KV rows per query row with an online softmax, as
//! upstream's CPU kernel: Q converted to K's dot type (f16 for F16 K, bf16 for BF16 K), scores
//! in f32, and for F16 V the output accumulated in f16 (rounded after every update, like
//! upstream's `VKQ16`), otherwise in f32.

use crate::backend::cpu::convert::{f16_to_f32, round_bf16, round_f16, row_to_f32};
use crate::backend::cpu::exec::{split, NodeCtx, TV};
use crate::graph::Op;
use crate::quant::GgmlType;

use super::pad;
use super::soft_max::alibi_slope;

/// K/V types accepted.
pub fn kv_supported(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16)
}

/// Scratch per thread: Q row (f32, rounded to K's type), V accumulator and a V row.
pub fn per_thread(dk: i64, dv: i64) -> usize {
    pad((dk.max(0) as usize + 2 * dv.max(0) as usize) * 4)
}

/// Dot of a K row (type `ty`, contiguous) with `q` (already rounded to that type).
///
/// # Safety
/// `k` valid for one row of `q.len()` elements.
unsafe fn kq_dot(ty: GgmlType, k: *const u8, q: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let n = q.len();
    let n8 = n / 8 * 8;
    let get = |i: usize| -> f32 {
        match ty {
            GgmlType::F16 => f16_to_f32(*(k as *const u16).add(i)),
            GgmlType::BF16 => f32::from_bits((*(k as *const u16).add(i) as u32) << 16),
            _ => *(k as *const f32).add(i),
        }
    };
    for c in (0..n8).step_by(8) {
        for j in 0..8 {
            acc[j] += get(c + j) * q[c + j];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (i, &qi) in q.iter().enumerate().skip(n8) {
        s += get(i) * qi;
    }
    s
}

pub fn compute(ctx: &NodeCtx<'_>, ith: usize, nth: usize) {
    let Op::FlashAttnExt {
        mut scale,
        max_bias,
        softcap,
    } = ctx.op
    else {
        return;
    };
    let (q, kt, v, d) = (ctx.s(0), ctx.s(1), ctx.s(2), ctx.dst);
    let mask: Option<TV> = ctx.src[3];
    let sinks = ctx.src[4];
    if softcap != 0.0 {
        scale /= softcap;
    }
    let (dk, dv) = (q.ne[0] as usize, v.ne[0] as usize);
    let (nq1, nq2) = (q.ne[1] as usize, q.ne[2] as usize);
    let n_kv = kt.ne[1] as usize;
    let rk2 = nq2 / kt.ne[2] as usize;
    let rv2 = nq2 / v.ne[2] as usize;
    // SAFETY: this thread's scratch (see per_thread).
    let (vkq, vtmp, qq) = unsafe {
        let base = ctx.ws.add(ith * per_thread(dk as i64, dv as i64)) as *mut f32;
        (
            std::slice::from_raw_parts_mut(base, dv),
            std::slice::from_raw_parts_mut(base.add(dv), dv),
            std::slice::from_raw_parts_mut(base.add(2 * dv), dk),
        )
    };
    let v16 = v.ty == GgmlType::F16;
    let (r0, r1) = split(q.nrows(), ith, nth);
    for ir in r0..r1 {
        let iq1 = ir % nq1;
        let iq2 = (ir / nq1) % nq2;
        let iq3 = ir / (nq1 * nq2);
        let slope = alibi_slope(max_bias, iq2 as u32, nq2 as u32);
        let (ik2, iv2) = (iq2 / rk2, iq2 / rv2);
        // SAFETY: all rows below are in range: k/v rows ic < n_kv, heads reduced by the GQA
        // ratio, mask row iq1 < mask.ne1 (checked at build).
        unsafe {
            let pq = q.row(iq1, iq2, iq3);
            for (i, x) in qq.iter_mut().enumerate() {
                let v = *(pq.add(i * q.nb[0]) as *const f32);
                *x = match kt.ty {
                    GgmlType::F16 => round_f16(v),
                    GgmlType::BF16 => round_bf16(v),
                    _ => v,
                };
            }
            vkq.fill(0.0);
            let mut s_sum = 0.0f32;
            let mut m = f32::NEG_INFINITY;
            let mp = mask.map(|mt| {
                mt.row(iq1, iq2 % mt.ne[2] as usize, iq3 % mt.ne[3] as usize) as *const u16
            });
            for ic in 0..n_kv {
                let mv = mp.map_or(0.0, |p| slope * f16_to_f32(*p.add(ic)));
                if mv == f32::NEG_INFINITY {
                    continue;
                }
                let mut s = kq_dot(kt.ty, kt.row(ic, ik2, iq3), qq) * scale;
                if softcap != 0.0 {
                    s = softcap * s.tanh();
                }
                s += mv;
                let m_old = m;
                let (mut ms, mut vs) = (1.0f32, 1.0f32);
                if s > m {
                    m = s;
                    ms = (m_old - m).exp();
                    for x in vkq.iter_mut() {
                        *x = if v16 { round_f16(*x * ms) } else { *x * ms };
                    }
                } else {
                    vs = (s - m).exp();
                }
                let pv = v.row(ic, iv2, iq3);
                if v16 {
                    for (i, x) in vkq.iter_mut().enumerate() {
                        *x = round_f16(*x + f16_to_f32(*(pv as *const u16).add(i)) * vs);
                    }
                } else {
                    if !row_to_f32(v.ty, pv, vtmp) {
                        ctx.fail();
                        return;
                    }
                    for (x, &y) in vkq.iter_mut().zip(vtmp.iter()) {
                        *x += y * vs;
                    }
                }
                s_sum = s_sum * ms + vs;
            }
            if let Some(sk) = sinks {
                let s = *(sk.ptr as *const f32).add(iq2);
                let (mut ms, mut vs) = (1.0f32, 1.0f32);
                if s > m {
                    ms = (m - s).exp();
                    for x in vkq.iter_mut() {
                        *x *= ms;
                    }
                } else {
                    vs = (s - m).exp();
                }
                s_sum = s_sum * ms + vs;
            }
            let inv = if s_sum == 0.0 { 0.0 } else { 1.0 / s_sum };
            // dst is [Dv, n_head, n_q, ne3]: row (iq2, iq1, iq3).
            let pd = d.row(iq2, iq1, iq3) as *mut f32;
            for (i, &x) in vkq.iter().enumerate() {
                *pd.add(i) = x * inv;
            }
        }
    }
}
