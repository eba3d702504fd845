//! `exp` and `ln` for `f32` written without branches or library calls, so that loops over
//! slices calling them auto-vectorise (the callers run them under [`pulp::Arch::dispatch`],
//! which compiles the loops for AVX2 where the CPU has it).
//!
//! Neither uses `mul_add`: without fused multiply-adds every operation is a correctly rounded
//! IEEE operation, so the scalar, SSE2 and AVX2 versions give the same bits.
//!
//! Accuracy, checked by the tests below against `f64` on 2 million points:
//! * [`exp`]: error at most 2 ulp (relative 2.4e-7) for `x` in `[-87, 88.72283]`
//!   (measured: 0.97 ulp). Below `-87` the result is flushed to 0 (the true value is below
//!   1.65e-38): computing subnormal results costs about a hundred cycles per operation on x86,
//!   and the callers use `exp` for mixture weights, where such values do not matter. `exp(x)`
//!   is `inf` for `x > 88.72283` and NaN for NaN.
//! * [`ln`]: error at most 1 ulp of the result over all positive f32, subnormals included
//!   (measured: 0.81 ulp); `ln(0) = -inf`, `ln(inf) = inf`, NaN for negative or NaN
//!   arguments.

/// Round-to-nearest shifter: adding it to a float of magnitude below 2^22 leaves the nearest
/// integer in the low mantissa bits.
const SHIFTER: f32 = 12_582_912.0; // 1.5 * 2^23

/// `e^x` for `f32` (Cephes' `expf` polynomial on `[-ln2/2, ln2/2]` after a Cody-Waite
/// reduction; the power of two is applied in two halves so that results up to `f32::MAX` are
/// exact scalings). 0 for `x < -87` (see the module docs).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with 9 significant bits so that n * LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const HI: f32 = 88.722_83;
    const LO: f32 = -87.0;
    let xc = if x < LO { LO } else { x };
    let xc = if xc > HI { HI } else { xc };
    let t = xc * LOG2E + SHIFTER;
    let n = t - SHIFTER;
    let ni = (t.to_bits() as i32).wrapping_sub(SHIFTER.to_bits() as i32);
    let r = (xc - n * LN2_HI) - n * LN2_LO;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let y = p * (r * r) + r + 1.0;
    let n1 = ni >> 1;
    let n2 = ni - n1;
    let s1 = f32::from_bits(((n1 + 127) << 23) as u32);
    let s2 = f32::from_bits(((n2 + 127) << 23) as u32);
    let res = y * s1 * s2;
    let res = if x < LO { 0.0 } else { res };
    if x > HI { f32::INFINITY } else { res }
}

/// Natural logarithm for `f32` (the reduction and polynomial of musl's `logf`:
/// `x = 2^e m`, `m` in `[sqrt(2)/2, sqrt(2))`, `ln m = f - f^2/2 + s (f^2/2 + R(s^2))` with
/// `f = m - 1`, `s = f / (2 + f)`).
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    const LN2_HI: f32 = 6.931_381e-1; // 0x3f317180
    const LN2_LO: f32 = 9.058_001e-6; // 0x3717f7d1
    const LG1: f32 = 0xaa_aaaa as f32 / 16_777_216.0; // 0xaaaaaa p-24
    const LG2: f32 = 0xcc_ce13 as f32 / 33_554_432.0; // 0xccce13 p-25
    const LG3: f32 = 0x91_e9ee as f32 / 33_554_432.0; // 0x91e9ee p-25
    const LG4: f32 = 0xf8_9e26 as f32 / 67_108_864.0; // 0xf89e26 p-26
    const TWO23: f32 = 8_388_608.0;
    let subnormal = x < f32::MIN_POSITIVE;
    let xs = if subnormal { x * TWO23 } else { x };
    let bits = xs.to_bits() as i32;
    // Bias the mantissa so that m lands in [sqrt(2)/2, sqrt(2)) (musl's 0x3f3504f3 trick).
    let ix = bits.wrapping_add(0x3f80_0000 - 0x3f35_04f3);
    let k = (ix >> 23) - 0x7f + if subnormal { -23 } else { 0 };
    let m = f32::from_bits(((ix & 0x007f_ffff) + 0x3f35_04f3) as u32);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * LG4);
    let t2 = z * (LG1 + w * LG3);
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    let dk = k as f32;
    let res = s * (hfsq + r) + dk * LN2_LO - hfsq + f + dk * LN2_HI;
    let res = if x > 0.0 {
        res
    } else if x == 0.0 {
        f32::NEG_INFINITY
    } else {
        f32::NAN
    };
    if x == f32::INFINITY { x } else { res }
}

#[cfg(test)]
mod tests {
    use super::{exp, ln};
    use rand::{Rng as _, SeedableRng};

    /// The spacing of f32 numbers at `x` (one ulp), in f64.
    fn ulp(x: f64) -> f64 {
        let x = x.abs() as f32;
        let x = if x < f32::MIN_POSITIVE {
            f32::MIN_POSITIVE
        } else {
            x
        };
        f64::from(f32::from_bits(x.to_bits() + 1) - x)
    }

    /// `grid` evenly spaced points from `lo` to `hi`, then `random` uniform ones.
    fn points(lo: f32, hi: f32, grid: usize, random: usize, seed: u64) -> Vec<f32> {
        let step = (f64::from(hi) - f64::from(lo)) / grid as f64;
        let mut out: Vec<f32> = (0..=grid)
            .map(|i| (f64::from(lo) + i as f64 * step) as f32)
            .collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        out.extend((0..random).map(|_| rng.random_range(lo..hi)));
        out
    }

    #[test]
    fn exp_relative_error_within_two_ulp() {
        let mut worst = 0.0f64;
        for x in points(-87.0, 88.72, 1_000_000, 1_000_000, 1) {
            let got = f64::from(exp(x));
            let want = f64::from(x).exp();
            worst = worst.max((got - want).abs() / ulp(want));
        }
        eprintln!("exp: worst error {worst:.3} ulp");
        assert!(worst <= 2.0, "exp: worst error {worst} ulp");
        // Flushed to 0 below -87, never a subnormal.
        for x in points(-120.0, -87.0, 100_000, 0, 0) {
            let got = exp(x);
            assert!(
                got == 0.0 || (x == -87.0 && got >= f32::MIN_POSITIVE),
                "exp({x}) = {got}"
            );
        }
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-87.01), 0.0);
        assert_eq!(exp(-1e30), 0.0);
        assert_eq!(exp(88.8), f32::INFINITY);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(88.72).is_finite());
        assert!(exp(-87.0) >= f32::MIN_POSITIVE);
    }

    #[test]
    fn ln_error_within_one_ulp() {
        let mut worst = 0.0f64;
        // Positive f32s from the smallest subnormal to the largest finite, every 4099th bit
        // pattern (about 260 000 points covering every binade), then random points near 1
        // where the result is small.
        let mut xs: Vec<f32> = (1..0x7f80_0000u32)
            .step_by(4099)
            .map(f32::from_bits)
            .collect();
        xs.extend(points(0.5, 2.0, 200_000, 200_000, 2));
        for x in xs {
            let got = f64::from(ln(x));
            let want = f64::from(x).ln();
            worst = worst.max((got - want).abs() / ulp(want));
        }
        eprintln!("ln: worst error {worst:.3} ulp");
        assert!(worst <= 1.0, "ln: worst error {worst} ulp");
    }

    #[test]
    fn ln_special_values() {
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert_eq!(ln(-0.0), f32::NEG_INFINITY);
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!(ln(f32::NEG_INFINITY).is_nan());
        assert!(ln(f32::NAN).is_nan());
        let tiny = f32::from_bits(1); // 2^-149
        assert!((f64::from(ln(tiny)) - (-149.0 * std::f64::consts::LN_2)).abs() < 1e-5);
    }
}
