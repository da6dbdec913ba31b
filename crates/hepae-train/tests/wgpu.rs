//! A few training steps on the wgpu backend (a GPU, or Mesa lavapipe on
//! CPU-only machines: `apt-get install mesa-vulkan-drivers libvulkan1`).

use hepae_train::{train, BackendKind, Matrix, RunOptions, TrainConfig};

#[test]
fn wgpu_training_steps_have_finite_falling_loss() {
    // Two correlated columns: easy to learn, tiny to compile for.
    let rows = 512;
    let mut values = Vec::with_capacity(rows * 4);
    for i in 0..rows {
        let t = i as f32 / rows as f32;
        values.extend([t, 2.0 * t + 1.0, (3.0 * t).sin(), 1.0 - t]);
    }
    let m = Matrix {
        names: vec!["a".into(), "b".into(), "c".into(), "d".into()],
        dtypes: vec!["Float32".into(); 4],
        values,
        rows,
    };
    let mut cfg = TrainConfig::default();
    cfg.model.hidden = vec![16];
    cfg.model.latent = 2;
    cfg.epochs = 8;
    cfg.batch_size = 128;
    cfg.lr = 1e-2;
    cfg.backend = BackendKind::Wgpu;
    let dir = tempfile::tempdir().unwrap();
    let out = train(&m, &cfg, dir.path(), &RunOptions::default())
        .expect("wgpu training (is a Vulkan driver such as lavapipe installed?)");
    assert!(out.device.starts_with("wgpu"), "{}", out.device);
    let (first, last) = (out.history[0].loss, out.history.last().unwrap().loss);
    assert!(out.history.iter().all(|h| h.loss.is_finite()));
    assert!(last < first / 2.0, "loss {first} -> {last}");
}
