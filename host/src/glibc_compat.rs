//! `hypot` and `hypotf` of the host's own, so the binary needs no glibc
//! newer than 2.34 (Amazon Linux 2023's).
//!
//! Why: tract calls libm's `hypot`/`hypotf`, and glibc 2.35 gave both a new
//! symbol version, the only ones this binary would need past 2.34. A host
//! built on a current Linux would then not start on Lambda. Defined here,
//! the linker binds those calls to these functions instead of libm's, so
//! the host built natively, with its start-order list (host/build.rs), runs
//! on Lambda's `provided.al2023`: `scripts/package.sh` checks the result.
//! They must not call `f64::hypot`, which would call back into themselves.

/// √(x² + y²) without overflow or underflow in between (IEEE special
/// cases as C's `hypot`: an infinity wins over a NaN). Within 1 ulp.
#[unsafe(no_mangle)]
pub extern "C" fn hypot(x: f64, y: f64) -> f64 {
    let (x, y) = (x.abs(), y.abs());
    if x.is_infinite() || y.is_infinite() {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    let (big, small) = if x >= y { (x, y) } else { (y, x) };
    if big == 0.0 {
        return 0.0;
    }
    let ratio = small / big;
    big * ratio.mul_add(ratio, 1.0).sqrt()
}

/// `hypot` for `f32`: in `f64`, where no `f32` square overflows, rounded once.
#[unsafe(no_mangle)]
pub extern "C" fn hypotf(x: f32, y: f32) -> f32 {
    let (x, y) = (f64::from(x), f64::from(y));
    if x.is_infinite() || y.is_infinite() {
        return f32::INFINITY;
    }
    x.mul_add(x, y * y).sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypot_is_within_an_ulp_and_keeps_cs_special_cases() {
        assert_eq!(hypot(3.0, 4.0), 5.0);
        assert_eq!(hypot(-5.0, 12.0), 13.0);
        assert_eq!(hypotf(3.0, -4.0), 5.0);
        // No overflow or underflow in between.
        let close = |got: f64, want: f64| (got - want).abs() <= 2.0 * f64::EPSILON * want;
        assert!(close(hypot(3e300, 4e300), 5e300));
        assert!(close(hypot(3e-300, 4e-300), 5e-300));
        assert!(close(f64::from(hypotf(3e30, 4e30)), 5e30_f32.into()));
        assert_eq!(hypot(f64::INFINITY, f64::NAN), f64::INFINITY);
        assert!(hypot(1.0, f64::NAN).is_nan());
        assert!(hypotf(f32::NAN, 1.0).is_nan());
        assert_eq!(hypot(0.0, -0.0), 0.0);
        // Where the plain formula cannot overflow, it is within an ulp of
        // the true value; so are these.
        for i in 1..2000u32 {
            let x = f64::from(i) * 0.37;
            let y = f64::from(2000 - i) * 1.13;
            let plain = (x * x + y * y).sqrt();
            let got = hypot(x, y);
            assert!((got - plain).abs() <= 2.0 * f64::EPSILON * plain, "{x} {y}");
        }
    }
}
