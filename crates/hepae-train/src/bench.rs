//! Timing of training steps (forward + backward + Adam) for benchmarks.

use crate::config::TrainConfig;
use crate::model::AutoEncoder;
use crate::trainer::select_device;
use burn::optim::AdamConfig;
use burn::prelude::*;

/// Result of [`bench_steps`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepTiming {
    /// Backend used.
    pub device: String,
    /// Steps timed (after warm-up).
    pub steps: usize,
    /// Median milliseconds per step.
    pub median_ms: f64,
    /// Samples per second at the median.
    pub samples_per_s: f64,
}

/// Times `steps` training steps on random data of `cols` columns after `warmup` steps.
pub fn bench_steps(cfg: &TrainConfig, cols: usize, warmup: usize, steps: usize) -> StepTiming {
    let (device, name) = select_device(cfg.backend);
    let device = device.autodiff();
    device.seed(cfg.seed);
    let mut model = AutoEncoder::new(&cfg.model, cols, &device);
    let mut optim = AdamConfig::new().init();
    let b = cfg.batch_size;
    let data: Vec<f32> = (0..b * cols)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let shards = crate::step::shards_for(cfg, &device);
    let mut times = Vec::with_capacity(steps);
    for i in 0..warmup + steps {
        let t0 = std::time::Instant::now();
        let x = Tensor::<2>::from_data(TensorData::new(data.clone(), [b, cols]), &device);
        model = crate::step::step(model, &mut optim, cfg, &x, None, cfg.lr, shards).0;
        // Wait for the device so asynchronous backends are timed honestly.
        device.sync().expect("device sync");
        if i >= warmup {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    StepTiming {
        device: name,
        steps,
        median_ms: median * 1e3,
        samples_per_s: b as f64 / median,
    }
}
