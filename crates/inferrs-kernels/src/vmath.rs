//! `exp`, `ln`, `log1p`, `tanh` and `sigmoid` for `f32` written without branches or library
//! calls, so that loops over slices calling them auto-vectorise (the callers run them under [`pulp::Arch::dispatch`],
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

/// `tanh(x)` for `f32`, branch-free: Cephes' `tanhf` odd polynomial for `|x| <= 0.625`, and
/// `1 - 2 / (e^{2|x|} + 1)` with the sign of `x` above (1 for `|x|` past `exp`'s range;
/// NaN for NaN). Within 2 ulp of `f64`'s `tanh` (the tests below).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let p = -5.704_988_7e-3_f32;
    let p = p * z + 2.063_909e-2;
    let p = p * z - 5.373_971_6e-2;
    let p = p * z + 1.333_144_2e-1;
    let p = p * z - 3.333_328e-1;
    let small = p * z * x + x;
    let e = exp(2.0 * a);
    let big = 1.0 - 2.0 / (e + 1.0);
    // tanh is odd: the sign of x, -0 for -0 included.
    (if a > 0.625 { big } else { small.abs() }).copysign(x)
}

/// `1 / (1 + e^-x)` for `f32`, branch-free (0 and 1 at the ends of `exp`'s range).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `ln(1 + x)` for `f32`, branch-free: `u = 1 + x` rounded, then `ln u` corrected by the
/// rounding of `u` (`(u - 1) - x`, exact), divided by `u` (Goldberg's `log1p`). Within 2 ulp
/// of `f64`'s for `x > -1` (the tests below); `-inf` at `-1`, NaN below it, `inf` at `inf`.
#[inline(always)]
pub fn log1p(x: f32) -> f32 {
    let u = 1.0 + x;
    let d = u - 1.0;
    // ln(1 + x) = ln u - (d - x) / u to first order in the rounding error of u; where u is
    // 1 (|x| below half an ulp of 1), ln(1 + x) is x to within the rounding.
    let corrected = ln(u) - (d - x) / u;
    let res = if d == 0.0 { x } else { corrected };
    let res = if u == 0.0 { f32::NEG_INFINITY } else { res };
    if x == f32::INFINITY { x } else { res }
}

#[cfg(test)]
mod tests {
    use super::{exp, ln, log1p, sigmoid, tanh};
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

    /// Distance in ulps between `got` and the `f64` reference rounded to `f32`.
    fn ulps_f32(got: f32, want: f64) -> u32 {
        let want = want as f32;
        if got == want {
            return 0;
        }
        let (a, b) = (got.to_bits() as i64, want.to_bits() as i64);
        // Same sign here (both functions keep the sign of x).
        (a - b).unsigned_abs() as u32
    }

    /// Both functions on 2 million points of `[-20, 20]` and their ends, against `f64`.
    #[test]
    fn tanh_and_sigmoid_are_within_a_few_ulps() {
        let n = 2_000_000;
        let mut worst = (0u32, 0u32);
        for i in 0..=n {
            let x = -20.0 + 40.0 * i as f32 / n as f32;
            worst.0 = worst.0.max(ulps_f32(tanh(x), f64::from(x).tanh()));
            let s = 1.0 / (1.0 + (-f64::from(x)).exp());
            worst.1 = worst.1.max(ulps_f32(sigmoid(x), s));
        }
        assert!(worst.0 <= 2, "tanh: {} ulp", worst.0);
        assert!(worst.1 <= 4, "sigmoid: {} ulp", worst.1);
        assert_eq!(tanh(1e-30), 1e-30);
        assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!((tanh(100.0), tanh(-100.0)), (1.0, -1.0));
        assert_eq!((tanh(f32::INFINITY), tanh(f32::NEG_INFINITY)), (1.0, -1.0));
        assert!(tanh(f32::NAN).is_nan() && sigmoid(f32::NAN).is_nan());
        assert_eq!((sigmoid(-200.0), sigmoid(200.0)), (0.0, 1.0));
    }

    #[test]
    fn log1p_error_within_two_ulp() {
        let mut worst = 0.0f64;
        let mut xs = points(-0.999, 10.0, 1_000_000, 1_000_000, 3);
        xs.extend(points(-1e-3, 1e-3, 200_000, 200_000, 4));
        xs.extend([1e-30, -1e-30, 1e-8, -1e-8, 3e-8, 1e30]);
        for x in xs {
            let got = f64::from(log1p(x));
            let want = f64::from(x).ln_1p();
            worst = worst.max((got - want).abs() / ulp(want));
        }
        eprintln!("log1p: worst error {worst:.3} ulp");
        assert!(worst <= 2.0, "log1p: worst error {worst} ulp");
        assert_eq!(log1p(0.0), 0.0);
        assert_eq!(log1p(-1.0), f32::NEG_INFINITY);
        assert!(log1p(-2.0).is_nan() && log1p(f32::NAN).is_nan());
        assert_eq!(log1p(f32::INFINITY), f32::INFINITY);
    }
}
