//! Unit tests on synthetic models: extreme shapes never panic or wrap, placement round-trips.

use super::model::{ModelDesc, WeightDesc, WeightRole};
use super::*;
use crate::quant::GgmlType;

fn synthetic(n_layer: u32, dim: u32, n_expert: u32) -> ModelDesc {
    let mut weights = vec![WeightDesc {
        name: "token_embd.weight".into(),
        n_bytes: 1 << 20,
        role: WeightRole::Input,
    }];
    for il in 0..n_layer {
        weights.push(WeightDesc {
            name: format!("blk.{il}.attn_q.weight"),
            n_bytes: 1 << 16,
            role: WeightRole::Layer { il, expert: false },
        });
        if n_expert > 0 {
            weights.push(WeightDesc {
                name: format!("blk.{il}.ffn_up_exps.weight"),
                n_bytes: 1 << 18,
                role: WeightRole::Layer { il, expert: true },
            });
        }
    }
    weights.push(WeightDesc {
        name: "output.weight".into(),
        n_bytes: 1 << 20,
        role: WeightRole::Output,
    });
    let nl = n_layer as usize;
    ModelDesc {
        arch: "llama".into(),
        n_layer,
        n_embd: dim,
        n_vocab: dim,
        n_ctx_train: 4096,
        n_head: vec![dim; nl],
        n_head_kv: vec![dim; nl],
        n_ff: vec![dim; nl],
        n_embd_head_k: dim,
        n_embd_head_v: dim,
        is_mla: false,
        n_embd_head_k_mla: 0,
        n_embd_head_v_mla: 0,
        n_lora_q: 0,
        n_lora_kv: 0,
        n_expert,
        n_expert_used: n_expert.min(2),
        n_ff_exp: dim,
        n_expert_shared: 0,
        n_swa: 0,
        is_swa: vec![false; nl],
        expert_layers: vec![n_expert > 0; nl],
        weights,
    }
}

#[test]
fn extreme_shapes_do_not_panic() {
    for dim in [1, 64, 1 << 20, u32::MAX] {
        let m = synthetic(3, dim, 4);
        for (n_ctx, n_ubatch) in [(1, 1), (u32::MAX, u32::MAX), (1 << 30, 4096)] {
            let ctx = CtxParams {
                n_ctx,
                n_batch: u32::MAX,
                n_ubatch,
                n_seq_max: 3,
                type_k: GgmlType::F32,
                ..Default::default()
            };
            let gpus = [
                DeviceDesc::new("SIM0", 1 << 30),
                DeviceDesc::new("SIM1", 1 << 20),
            ];
            let host = DeviceDesc::new("CPU", u64::MAX);
            let inp = PlanInput {
                model: &m,
                ctx: &ctx,
                gpus: &gpus,
                host: &host,
                use_mmap: false,
                oracle: &AnalyticOracle,
                analytic: true,
            };
            let pl = placement::resolve(&m, &PlaceParams::default(), &gpus).unwrap();
            if let Ok(p) = plan::compute_plan(&inp, &pl, 4) {
                let _ = (p.fits(), p.overflow_error(), table::table(&p));
            }
            let req = FitRequest {
                model: &m,
                ctx: ctx.clone(),
                place: PlaceParams::default(),
                gpus: gpus.to_vec(),
                host: host.clone(),
                oracle: &AnalyticOracle,
                analytic: true,
                n_ctx_min: 256,
                user_set_n_ubatch: false,
            };
            if let Ok(r) = fit(&req) {
                assert!(r.plan.fits());
            }
        }
    }
}

#[test]
fn fit_result_resolves_to_its_placement() {
    let m = synthetic(12, 64, 8);
    let gpus: Vec<DeviceDesc> = [3u64, 2, 5]
        .iter()
        .enumerate()
        .map(|(i, &mib)| DeviceDesc::new(format!("SIM{i}"), mib << 20))
        .collect();
    let req = FitRequest {
        model: &m,
        ctx: CtxParams {
            n_ctx: 1024,
            n_ubatch: 64,
            ..Default::default()
        },
        place: PlaceParams::default(),
        gpus: gpus.clone(),
        host: DeviceDesc::new("CPU", 1 << 30),
        oracle: &AnalyticOracle,
        analytic: true,
        n_ctx_min: 0,
        user_set_n_ubatch: true,
    };
    let r = fit(&req).unwrap();
    let again = placement::resolve(&m, &r.place, &gpus).unwrap();
    assert_eq!(again.layer_dev, r.placement.layer_dev);
    assert_eq!(again.output_dev, r.placement.output_dev);
    assert_eq!(again.weight_dev, r.placement.weight_dev);
    assert!(r.plan.fits());
}
