//! Adam as one pass per parameter tensor: burn's [`Adam`] step is about a dozen tensor ops per
//! parameter (each an allocation and a pass), which for the small tensors of an automatic
//! guide (a location and a scale per latent variable) costs more than the arithmetic. On a host
//! backend with `f32` tensors [`FusedAdam`] reads the parameter, its gradient and the two
//! moments once and writes the three results, with the same IEEE operations in the same order
//! as burn's ops, so the same bits (the tests below compare the two step by step); elsewhere
//! it is burn's [`Adam`] itself. Its state is burn's [`AdamState`], so a saved optimizer and
//! `VI::resume` read either.

use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer as BurnOptimizer,
};
use burn::tensor::{DType, Device, Tensor, TensorData};

/// Adam with burn's arithmetic, fused on flex (see the module docs).
#[derive(Clone)]
pub(crate) struct FusedAdam {
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    /// burn's Adam with the same constants: the path elsewhere than on flex.
    reference: Adam,
}

impl FusedAdam {
    pub(crate) fn new(beta1: f32, beta2: f32, epsilon: f32) -> Self {
        let reference = AdamConfig::new()
            .with_beta_1(beta1)
            .with_beta_2(beta2)
            .with_epsilon(epsilon)
            .build();
        Self {
            beta1,
            beta2,
            epsilon,
            reference,
        }
    }

    /// The fused step, or `None` where it does not apply (not `f32` on flex, or a state with
    /// AMSGrad's extra moment).
    fn fused<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: &Tensor<D>,
        grad: &Tensor<D>,
        state: Option<&AdamState<D>>,
    ) -> Option<(Tensor<D>, AdamState<D>)> {
        let device = tensor.device();
        let host = |t: &Tensor<D>| {
            (t.dtype() == DType::F32 && t.device() == device)
                .then(|| t.to_data().try_into_vec::<f32>().ok())
                .flatten()
        };
        if tensor.dtype() != DType::F32
            || !inferrs_distributions::fused_kernels_available(&device)
            || state.is_some_and(|s| s.momentum.max_moment_2.is_some())
        {
            return None;
        }
        let mut p = host(tensor)?;
        let g = host(grad)?;
        let (mut m, mut v, time) = match state {
            Some(s) => (
                host(&s.momentum.moment_1)?,
                host(&s.momentum.moment_2)?,
                s.momentum.time + 1,
            ),
            None => (Vec::new(), Vec::new(), 1),
        };
        if g.len() != p.len() || (time > 1 && (m.len() != p.len() || v.len() != p.len())) {
            return None;
        }
        let (b1, b2) = (self.beta1, self.beta2);
        let (f1, f2) = (1.0 - b1, 1.0 - b2);
        let t = i32::try_from(time).unwrap_or(i32::MAX);
        let bc2 = (1.0 - b2.powi(t)).sqrt();
        let combined = bc2 / (1.0 - b1.powi(t));
        let eps = self.epsilon * bc2;
        let lr = lr as f32;
        if time == 1 {
            // burn's first step: m = g (1 - b1), v = g^2 (1 - b2).
            m = g.iter().map(|&g| g * f1).collect();
            v = g.iter().map(|&g| (g * g) * f2).collect();
        } else {
            for ((m, v), &g) in m.iter_mut().zip(v.iter_mut()).zip(&g) {
                *m = *m * b1 + g * f1;
                *v = *v * b2 + (g * g) * f2;
            }
        }
        for ((p, &m), &v) in p.iter_mut().zip(&m).zip(&v) {
            let update = (m * combined) / (v.sqrt() + eps);
            *p -= update * lr;
        }
        let shape = tensor.shape();
        let make = |values: Vec<f32>| {
            Tensor::<D>::from_data(TensorData::new(values, shape.clone()), &device)
        };
        let state = AdamState::new(AdaptiveMomentumState::new(time, make(m), make(v)));
        Some((make(p), state))
    }
}

impl BurnOptimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        match self.fused(lr, &tensor, &grad, state.as_ref()) {
            Some((tensor, state)) => (tensor, Some(state)),
            None => self.reference.step(lr, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng as _, SeedableRng};

    fn random(shape: [usize; 2], scale: f32, rng: &mut rand::rngs::StdRng) -> Tensor<2> {
        let n = shape[0] * shape[1];
        let v: Vec<f32> = (0..n)
            .map(|_| scale * rng.random_range(-1.0..1.0f32))
            .collect();
        Tensor::from_data(TensorData::new(v, shape), &Device::default())
    }

    fn bits(t: &Tensor<2>) -> Vec<u32> {
        t.to_data()
            .try_into_vec::<f32>()
            .unwrap()
            .into_iter()
            .map(f32::to_bits)
            .collect()
    }

    /// 200 steps of both optimizers from the same parameters and gradients (gradients from
    /// 1e-8 to 1e3, a learning-rate schedule, the default and other constants): the same bits
    /// for the parameters and both moments at every step.
    #[test]
    fn fused_adam_gives_burns_bits() {
        for (beta1, beta2, epsilon, seed) in [(0.9, 0.999, 1e-8, 1), (0.5, 0.9, 1e-3, 2)] {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let fused = FusedAdam::new(beta1, beta2, epsilon);
            let burn = fused.reference.clone();
            let start = random([7, 5], 2.0, &mut rng);
            let mut p = (start.clone(), start);
            let mut states: (Option<AdamState<2>>, Option<AdamState<2>>) = (None, None);
            for step in 0..200 {
                let scale = 10f32.powi(step % 12 - 8);
                let g = random([7, 5], scale, &mut rng);
                let lr = 0.01 / (1.0 + step as f64 / 50.0);
                // The fused path is the one taken (not burn's, compared with itself).
                assert!(fused.fused(lr, &p.0, &g, states.0.as_ref()).is_some());
                let (pf, sf) = fused.step(lr, p.0.clone(), g.clone(), states.0.take());
                let (pb, sb) = burn.step(lr, p.1.clone(), g, states.1.take());
                assert_eq!(bits(&pf), bits(&pb), "parameters at step {step}");
                let (sf, sb) = (sf.unwrap(), sb.unwrap());
                assert_eq!(sf.momentum.time, sb.momentum.time);
                assert_eq!(bits(&sf.momentum.moment_1), bits(&sb.momentum.moment_1));
                assert_eq!(bits(&sf.momentum.moment_2), bits(&sb.momentum.moment_2));
                p = (pf, pb);
                states = (Some(sf), Some(sb));
            }
        }
    }
}
