//! What a rank sends at each step of data-parallel SVI, and what it makes of every rank's.
//!
//! A step's message is, in order: a header (status, reason, loss, digest), one flag byte per
//! float parameter (whether the rank has a gradient for it), and every gradient value as
//! `f32`, parameters in the modules' visit order (the model's, then the guide's shared
//! module's). Every rank lays it out the same way, so the messages are the same length; the
//! sum over ranks is taken value by value in rank order, in `f64`, and rounded once to `f32`:
//! every rank computes the same bits, whatever the transport's timing.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

use super::Collective;
use super::collective::gather;
use crate::Error;

/// Bytes of a failure's reason in a message (longer reasons are cut at a character
/// boundary).
const REASON: usize = 240;
/// Bytes of a message's header: status, loss, digest.
const HEADER: usize = STATUS + 8 + 8;

/// What a rank says of its step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Status {
    /// It computed its gradients (or had no rows this step).
    Ok,
    /// It failed, for this reason.
    Failed(String),
}

/// The float parameters of the modules a step trains: how many, and how many values in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Float parameters (tensors).
    pub params: usize,
    /// Their values, in all.
    pub values: usize,
}

impl Layout {
    /// The layout of `module`'s float parameters.
    pub fn of<M: Module>(module: &M) -> Self {
        struct Count(Layout);
        impl ModuleVisitor for Count {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.params += 1;
                self.0.values += param.shape().num_elements();
            }
        }
        let mut count = Count(Layout::default());
        module.visit(&mut count);
        count.0
    }

    /// Both layouts, one after the other.
    pub fn then(self, other: Self) -> Self {
        Self {
            params: self.params + other.params,
            values: self.values + other.values,
        }
    }
}

/// A step's gradients, flattened: one flag per parameter (1 when it has a gradient), and
/// the values, parameters in the modules' visit order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flat {
    /// One per parameter.
    pub flags: Vec<u8>,
    /// Every parameter's values, one after the other.
    pub values: Vec<f32>,
}

impl Flat {
    /// No gradient for any parameter of `layout` (a rank without rows this step).
    pub fn zeros(layout: Layout) -> Self {
        Self {
            flags: vec![0; layout.params],
            values: vec![0.0; layout.values],
        }
    }
}

/// Appends the gradients of `module`'s float parameters found in `grads` (zeros and flag 0
/// for those without one) to `flat`.
pub(crate) fn flatten_grads<M: Module>(module: &M, grads: &GradientsParams, flat: &mut Flat) {
    struct Collect<'a> {
        grads: &'a GradientsParams,
        flat: &'a mut Flat,
    }
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let n = param.shape().num_elements();
            match self.grads.get::<D>(param.id) {
                Some(g) => {
                    self.flat.flags.push(1);
                    let data = g.into_data().convert::<f32>();
                    match data.as_slice::<f32>() {
                        Ok(values) if values.len() == n => self.flat.values.extend(values),
                        _ => self.flat.values.extend(std::iter::repeat_n(f32::NAN, n)),
                    }
                }
                None => {
                    self.flat.flags.push(0);
                    self.flat.values.extend(std::iter::repeat_n(0.0, n));
                }
            }
        }
    }
    module.visit(&mut Collect { grads, flat });
}

/// The gradients of `module`'s float parameters read from `flat` from its `offset`
/// (parameters, values), registered in a new [`GradientsParams`] for those whose flag is
/// set; returns it and the offset after them.
pub(crate) fn unflatten_grads<M: Module>(
    module: &M,
    flat: &Flat,
    offset: (usize, usize),
) -> (GradientsParams, (usize, usize)) {
    struct Register<'a> {
        flat: &'a Flat,
        at: (usize, usize),
        grads: GradientsParams,
    }
    impl ModuleVisitor for Register<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            let shape = value.shape();
            let n = shape.num_elements();
            let (p, v) = self.at;
            if self.flat.flags.get(p) == Some(&1)
                && let Some(values) = self.flat.values.get(v..v + n)
            {
                let device = value.inner().device();
                let data = TensorData::new(values.to_vec(), shape);
                self.grads
                    .register::<D>(param.id, Tensor::<D>::from_data(data, &device));
            }
            self.at = (p + 1, v + n);
        }
    }
    let mut register = Register {
        flat,
        at: offset,
        grads: GradientsParams::new(),
    };
    module.visit(&mut register);
    (register.grads, register.at)
}

/// Appends the values of `module`'s float parameters to `values`.
pub(crate) fn flatten_values<M: Module>(module: &M, values: &mut Vec<f32>) {
    struct Collect<'a>(&'a mut Vec<f32>);
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let n = param.shape().num_elements();
            let data = param.val().into_data().convert::<f32>();
            match data.as_slice::<f32>() {
                Ok(v) if v.len() == n => self.0.extend(v),
                _ => self.0.extend(std::iter::repeat_n(f32::NAN, n)),
            }
        }
    }
    module.visit(&mut Collect(values));
}

/// `module` with its float parameters set to `values` from `offset` (on the parameter's
/// device, tracked when it was); returns it and the offset after them.
pub(crate) fn load_values<M: Module>(module: M, values: &[f32], offset: usize) -> (M, usize) {
    struct Load<'a> {
        values: &'a [f32],
        at: usize,
    }
    impl ModuleMapper for Load<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (id, tensor, mapper) = param.consume();
            let shape = tensor.shape();
            let n = shape.num_elements();
            let Some(values) = self.values.get(self.at..self.at + n) else {
                return Param::from_mapped_value(id, tensor, mapper);
            };
            self.at += n;
            let value =
                Tensor::<D>::from_data(TensorData::new(values.to_vec(), shape), &tensor.device());
            let value = if tensor.is_require_grad() {
                value.require_grad()
            } else {
                value
            };
            Param::from_mapped_value(id, value, mapper)
        }
    }
    let mut load = Load { values, at: offset };
    let module = module.map(&mut load);
    (module, load.at)
}

/// A digest of parameter values (the same on every rank exactly when the bits are).
pub(crate) fn digest(values: &[f32]) -> u64 {
    values.iter().fold(0xCBF2_9CE4_8422_2325u64, |h, v| {
        v.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3))
    })
}

/// One rank's message for a step.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Message {
    pub(crate) status: Status,
    /// Its part of the step's loss (the ranks' parts sum to the full-data estimate).
    pub(crate) loss: f64,
    /// The digest of its parameters before the step (0 when the step does not check).
    pub(crate) digest: u64,
    pub(crate) grads: Flat,
}

/// Bytes of a status: the flag, the reason's length and the reason.
const STATUS: usize = 1 + 2 + REASON;

impl Status {
    fn encode(&self, out: &mut Vec<u8>) {
        let reason = match self {
            Status::Ok => "",
            Status::Failed(reason) => reason.as_str(),
        };
        let mut cut = reason.len().min(REASON);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(u8::from(matches!(self, Status::Failed(_))));
        out.extend((cut as u16).to_le_bytes());
        out.extend(&reason.as_bytes()[..cut]);
        out.extend(std::iter::repeat_n(0u8, REASON - cut));
    }

    fn decode(bytes: &[u8]) -> Self {
        let len = usize::from(u16::from_le_bytes([bytes[1], bytes[2]])).min(REASON);
        match bytes[0] {
            0 => Status::Ok,
            _ => Status::Failed(String::from_utf8_lossy(&bytes[3..3 + len]).into_owned()),
        }
    }
}

fn word(bytes: &[u8], at: usize) -> [u8; 8] {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    b
}

/// What a rank says before the first step: whether it is ready, its shard's rows, and the
/// layout of its parameters.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Hello {
    pub(crate) status: Status,
    pub(crate) rows: usize,
    pub(crate) layout: Layout,
}

impl Hello {
    const BYTES: usize = STATUS + 24;

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::BYTES);
        self.status.encode(&mut out);
        for n in [self.rows, self.layout.params, self.layout.values] {
            out.extend((n as u64).to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::BYTES {
            return None;
        }
        let n =
            |at: usize| usize::try_from(u64::from_le_bytes(word(bytes, at))).unwrap_or(usize::MAX);
        Some(Self {
            status: Status::decode(bytes),
            rows: n(STATUS),
            layout: Layout {
                params: n(STATUS + 8),
                values: n(STATUS + 16),
            },
        })
    }
}

/// Sends `hello` to every rank of `comm`; every rank's, in rank order.
///
/// # Errors
/// [`Error::Collective`] when the exchange fails.
pub(crate) fn hello(comm: &dyn Collective, hello: &Hello) -> Result<Vec<Hello>, Error> {
    gather(comm, &hello.encode())?
        .iter()
        .enumerate()
        .map(|(r, part)| {
            Hello::decode(part).ok_or_else(|| Error::Collective {
                rank: comm.rank(),
                reason: format!("rank {r} sent a malformed message"),
            })
        })
        .collect()
}

impl Message {
    fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(HEADER + self.grads.flags.len() + 4 * self.grads.values.len());
        self.status.encode(&mut out);
        out.extend(self.loss.to_le_bytes());
        out.extend(self.digest.to_le_bytes());
        out.extend(&self.grads.flags);
        for v in &self.grads.values {
            out.extend(v.to_le_bytes());
        }
        out
    }

    fn decode(bytes: &[u8], layout: Layout) -> Option<Self> {
        if bytes.len() != HEADER + layout.params + 4 * layout.values {
            return None;
        }
        let status = Status::decode(bytes);
        let at = STATUS;
        let flags = bytes[HEADER..HEADER + layout.params].to_vec();
        let values = bytes[HEADER + layout.params..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Some(Self {
            status,
            loss: f64::from_le_bytes(word(bytes, at)),
            digest: u64::from_le_bytes(word(bytes, at + 8)),
            grads: Flat { flags, values },
        })
    }
}

/// What every rank sent for a step, put together.
#[derive(Debug)]
pub(crate) struct Reduced {
    /// Each rank's status, in rank order.
    pub(crate) statuses: Vec<Status>,
    /// The sum of the ranks' losses (the full-data estimate).
    pub(crate) loss: f64,
    /// Each rank's digest, in rank order.
    pub(crate) digests: Vec<u64>,
    /// The ranks' gradients summed in rank order; a flag is set when any rank's is.
    pub(crate) grads: Flat,
}

impl Reduced {
    /// The first rank that failed, and why.
    pub(crate) fn failure(&self) -> Option<(usize, &str)> {
        self.statuses.iter().enumerate().find_map(|(r, s)| match s {
            Status::Failed(reason) => Some((r, reason.as_str())),
            Status::Ok => None,
        })
    }
}

/// Sends `message` to every rank of `comm` and sums what they all sent.
///
/// # Errors
/// [`Error::Collective`] when the exchange fails or a rank's message is not of `layout`.
pub(crate) fn exchange(
    comm: &dyn Collective,
    message: &Message,
    layout: Layout,
) -> Result<Reduced, Error> {
    let parts = gather(comm, &message.encode())?;
    let mut messages = Vec::with_capacity(parts.len());
    for (r, part) in parts.iter().enumerate() {
        messages.push(
            Message::decode(part, layout).ok_or_else(|| Error::Collective {
                rank: comm.rank(),
                reason: format!("rank {r} sent a step of another layout (a different model?)"),
            })?,
        );
    }
    Ok(sum(&messages, layout))
}

/// The ordered sum of `messages` (rank order).
pub(crate) fn sum(messages: &[Message], layout: Layout) -> Reduced {
    let mut acc = vec![0.0f64; layout.values];
    let mut flags = vec![0u8; layout.params];
    let mut loss = 0.0;
    for m in messages {
        for (a, &v) in acc.iter_mut().zip(&m.grads.values) {
            *a += f64::from(v);
        }
        for (f, &g) in flags.iter_mut().zip(&m.grads.flags) {
            *f |= g;
        }
        loss += m.loss;
    }
    Reduced {
        statuses: messages.iter().map(|m| m.status.clone()).collect(),
        loss,
        digests: messages.iter().map(|m| m.digest).collect(),
        grads: Flat {
            flags,
            values: acc.into_iter().map(|a| a as f32).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(status: Status, loss: f64, values: Vec<f32>, flags: Vec<u8>) -> Message {
        Message {
            status,
            loss,
            digest: 7,
            grads: Flat { flags, values },
        }
    }

    #[test]
    fn a_message_reads_back_as_it_was_sent() {
        let layout = Layout {
            params: 2,
            values: 3,
        };
        let m = message(
            Status::Failed("rank fell over: é".into()),
            -1.5,
            vec![1.0, f32::MIN_POSITIVE, -3.0],
            vec![1, 0],
        );
        assert_eq!(Message::decode(&m.encode(), layout), Some(m.clone()));
        let long = message(
            Status::Failed("é".repeat(300)),
            0.0,
            vec![0.0; 3],
            vec![0, 0],
        );
        let Some(Message {
            status: Status::Failed(reason),
            ..
        }) = Message::decode(&long.encode(), layout)
        else {
            panic!("a long reason is cut, not lost");
        };
        assert!(reason.len() <= REASON && reason.chars().all(|c| c == 'é'));
        assert_eq!(
            Message::decode(&m.encode()[1..], layout),
            None,
            "a short message is refused"
        );
    }

    #[test]
    fn the_sum_is_in_rank_order_in_f64_and_keeps_every_flag() {
        let layout = Layout {
            params: 2,
            values: 2,
        };
        // In f32, (1e8 + 1) - 1e8 loses the 1; the sum in f64 keeps it.
        let parts = [
            message(Status::Ok, 1.0, vec![1e8, 1.0], vec![1, 0]),
            message(Status::Ok, 2.0, vec![1.0, 2.0], vec![0, 1]),
            message(Status::Failed("x".into()), 3.0, vec![-1e8, 0.0], vec![0, 0]),
        ];
        let r = sum(&parts, layout);
        assert_eq!(r.grads.values, vec![1.0, 3.0]);
        assert_eq!(r.grads.flags, vec![1, 1]);
        assert_eq!(r.loss, 6.0);
        assert_eq!(r.failure(), Some((2, "x")));
        assert_eq!(r.digests, vec![7, 7, 7]);
    }
}
