//! Sprig's arithmetic: int64 math through spf13/cast (`add`, `sub`, `mul`,
//! `div`, `mod`, `max`, `min`, Go's wrapping and divide-by-zero panic),
//! float math through shopspring/decimal (`addf`, `subf`, `mulf`, `divf`:
//! exact decimal arithmetic on the floats' shortest decimal forms, division
//! rounded to 16 places), `floor`/`ceil`/`round`, and the integer ranges
//! `until`, `untilStep`, `seq`.

use super::{arg, arg_int, list_of, spec, to_float64, to_int64};
use crate::godata::value::Value;
use crate::render::funcs::{FuncError, FuncResult, FuncSpec, GoType as T};
use num_bigint::BigInt;

const A: T = T::Any;
const I: T = T::Int;

pub(super) const FUNCS: &[FuncSpec] = &[
    spec("add1", &[A], None, |a| {
        Ok(Value::Int64(to_int64(arg(a, 0)).wrapping_add(1)))
    }),
    spec("add", &[], Some(A), |a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
        ))
    }),
    spec("sub", &[A, A], None, |a| {
        Ok(Value::Int64(
            to_int64(arg(a, 0)).wrapping_sub(to_int64(arg(a, 1))),
        ))
    }),
    spec("div", &[A, A], None, |a| int_div(a, i64::wrapping_div)),
    spec("mod", &[A, A], None, |a| int_div(a, i64::wrapping_rem)),
    spec("mul", &[A], Some(A), |a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
        ))
    }),
    spec("biggest", &[A], Some(A), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
    }),
    spec("max", &[A], Some(A), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
    }),
    spec("min", &[A], Some(A), |a| {
        Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
    }),
    spec("maxf", &[A], Some(A), |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).reduce(go_max).unwrap_or(0.0),
        ))
    }),
    spec("minf", &[A], Some(A), |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).reduce(go_min).unwrap_or(0.0),
        ))
    }),
    spec("add1f", &[A], None, |a| {
        decimal_op(arg(a, 0), &[Value::Int(1)], Op::Add)
    }),
    spec("addf", &[], Some(A), |a| {
        decimal_op(&Value::Float(0.0), a, Op::Add)
    }),
    spec("subf", &[A], Some(A), |a| {
        decimal_op(arg(a, 0), &a[1..], Op::Sub)
    }),
    spec("mulf", &[A], Some(A), |a| {
        decimal_op(arg(a, 0), &a[1..], Op::Mul)
    }),
    spec("divf", &[A], Some(A), |a| {
        decimal_op(arg(a, 0), &a[1..], Op::Div)
    }),
    spec("floor", &[A], None, |a| {
        Ok(Value::Float(to_float64(arg(a, 0)).floor()))
    }),
    spec("ceil", &[A], None, |a| {
        Ok(Value::Float(to_float64(arg(a, 0)).ceil()))
    }),
    spec("round", &[A, I], Some(T::Float64), round),
    spec("until", &[I], None, |a| {
        let n = arg_int(a, 0)?;
        ints(until_step(0, n, if n < 0 { -1 } else { 1 })?)
    }),
    spec("untilStep", &[I, I, I], None, |a| {
        ints(until_step(arg_int(a, 0)?, arg_int(a, 1)?, arg_int(a, 2)?)?)
    }),
    spec("seq", &[], Some(I), seq),
];

fn int_div(args: &[Value], op: fn(i64, i64) -> i64) -> FuncResult {
    let (a, b) = (to_int64(arg(args, 0)), to_int64(arg(args, 1)));
    if b == 0 {
        return Err(FuncError::new("runtime error: integer divide by zero"));
    }
    Ok(Value::Int64(op(a, b)))
}

/// Go's `math.Max`.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a > 0.0 || b.is_infinite() && b > 0.0 {
        return f64::INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b { a } else { b }
}

/// Go's `math.Min`.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a < 0.0 || b.is_infinite() && b < 0.0 {
        return f64::NEG_INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b { a } else { b }
}

fn round(args: &[Value]) -> FuncResult {
    let val = to_float64(arg(args, 0));
    let places = arg_int(args, 1)? as f64;
    let round_on = match args.get(2) {
        Some(Value::Float(f)) => *f,
        _ => 0.5,
    };
    let pow = 10f64.powf(places);
    let digit = pow * val;
    let frac = digit.fract();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(r / pow))
}

/// Refuse ranges beyond this many elements (Go would exhaust memory).
const MAX_RANGE: usize = 10_000_000;

/// Sprig's `untilStep`.
pub(crate) fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let mut v = Vec::new();
    let too_long = || FuncError::new(format!("untilStep: more than {MAX_RANGE} elements"));
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        let mut i = start;
        while i > stop {
            v.push(i);
            if v.len() > MAX_RANGE {
                return Err(too_long());
            }
            i = match i.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    let mut i = start;
    while i < stop {
        v.push(i);
        if v.len() > MAX_RANGE {
            return Err(too_long());
        }
        i = match i.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(v)
}

fn ints(v: Vec<i64>) -> FuncResult {
    list_of(v.into_iter().map(Value::Int).collect())
}

fn seq(args: &[Value]) -> FuncResult {
    let p: Vec<i64> = args.iter().map(to_int64).collect();
    let nums = match p.len() {
        1 => {
            let (start, end) = (1, p[0]);
            let inc = if end < start { -1 } else { 1 };
            until_step(start, end + inc, inc)?
        }
        2 => {
            let (start, end) = (p[0], p[1]);
            let step = if end < start { -1 } else { 1 };
            until_step(start, end + step, step)?
        }
        3 => {
            let (start, step, end) = (p[0], p[1], p[2]);
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return Ok(Value::str(""));
                }
            }
            until_step(start, end + inc, step)?
        }
        _ => Vec::new(),
    };
    let text: Vec<String> = nums.iter().map(i64::to_string).collect();
    Ok(Value::str(text.join(" ")))
}

// --- shopspring/decimal arithmetic ------------------------------------------

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// An exact decimal: `m × 10^e`.
#[derive(Clone, Debug)]
struct Decimal {
    m: BigInt,
    e: i64,
}

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Result<Decimal, FuncError> {
        if !f.is_finite() {
            return Err(FuncError::new(format!(
                "Cannot create a Decimal from {}",
                crate::godata::gofmt::format_float(f, 'g', -1)
            )));
        }
        let sci = format!("{f:e}");
        let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let frac_len = mant.split_once('.').map_or(0, |(_, f)| f.len()) as i64;
        let digits: String = mant.chars().filter(|c| *c != '.').collect();
        let m: BigInt = digits.parse().unwrap_or_default();
        Ok(Decimal {
            m,
            e: exp - frac_len,
        })
    }

    fn rescaled(&self, e: i64) -> BigInt {
        // e <= self.e
        &self.m * BigInt::from(10u8).pow((self.e - e) as u32)
    }

    fn add(&self, o: &Decimal) -> Decimal {
        let e = self.e.min(o.e);
        Decimal {
            m: self.rescaled(e) + o.rescaled(e),
            e,
        }
    }

    fn sub(&self, o: &Decimal) -> Decimal {
        let e = self.e.min(o.e);
        Decimal {
            m: self.rescaled(e) - o.rescaled(e),
            e,
        }
    }

    fn mul(&self, o: &Decimal) -> Decimal {
        Decimal {
            m: &self.m * &o.m,
            e: self.e + o.e,
        }
    }

    /// `d.Div(d2)` = `DivRound(d2, 16)`: rounded half away from zero to 16
    /// decimal places.
    fn div(&self, o: &Decimal) -> Result<Decimal, FuncError> {
        if o.m == BigInt::ZERO {
            return Err(FuncError::new("decimal division by 0"));
        }
        // self/o = (m1/m2) × 10^(e1-e2); want q × 10^-16.
        let shift = self.e - o.e + 16;
        let ten = BigInt::from(10u8);
        let (num, den) = if shift >= 0 {
            (&self.m * ten.pow(shift as u32), o.m.clone())
        } else {
            (self.m.clone(), &o.m * ten.pow((-shift) as u32))
        };
        let neg = (num < BigInt::ZERO) != (den < BigInt::ZERO);
        let (num, den) = (num.magnitude().clone(), den.magnitude().clone());
        let (q, r) = (&num / &den, &num % &den);
        let q = if &r * 2u8 >= den { q + 1u8 } else { q };
        let q = BigInt::from(q);
        Ok(Decimal {
            m: if neg { -q } else { q },
            e: -16,
        })
    }

    /// `d.Float64()`: the nearest float64.
    fn to_f64(&self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(0.0)
    }
}

fn decimal_op(first: &Value, rest: &[Value], op: Op) -> FuncResult {
    let mut acc = Decimal::from_f64(to_float64(first))?;
    for x in rest {
        let d = Decimal::from_f64(to_float64(x))?;
        acc = match op {
            Op::Add => acc.add(&d),
            Op::Sub => acc.sub(&d),
            Op::Mul => acc.mul(&d),
            Op::Div => acc.div(&d)?,
        };
        // Keep mantissas small when exponents drift apart.
        if acc.m.bits() > 4096 {
            return Ok(Value::Float(acc.to_f64()));
        }
    }
    Ok(Value::Float(acc.to_f64()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{call_str, s};
    use super::*;

    #[test]
    fn integer_math_uses_cast() {
        assert_eq!(
            call_str("add", &[Value::Int(1), s("2"), Value::Float(3.9)]),
            "6"
        );
        assert_eq!(call_str("div", &[Value::Int(7), Value::Int(2)]), "3");
        assert_eq!(
            call_str("div", &[Value::Int(7), Value::Int(0)]),
            "ERR: runtime error: integer divide by zero"
        );
        assert_eq!(call_str("mod", &[Value::Int(-7), Value::Int(3)]), "-1");
        assert_eq!(
            call_str("max", &[Value::Int(1), s("5"), Value::Int(3)]),
            "5"
        );
    }

    #[test]
    fn float_math_is_decimal() {
        assert_eq!(
            call_str("addf", &[Value::Float(0.1), Value::Float(0.2)]),
            "0.3"
        );
        assert_eq!(
            call_str("divf", &[Value::Int(1), Value::Int(3)]),
            "0.3333333333333333"
        );
        assert_eq!(
            call_str("divf", &[Value::Int(2), Value::Int(3)]),
            "0.6666666666666667"
        );
        assert_eq!(call_str("mulf", &[Value::Float(1.1), Value::Int(3)]), "3.3");
        assert_eq!(
            call_str("subf", &[Value::Float(1.5), Value::Float(0.25)]),
            "1.25"
        );
    }

    #[test]
    fn ranges_and_rounding() {
        assert_eq!(call_str("until", &[Value::Int(3)]), "[0 1 2]");
        assert_eq!(call_str("until", &[Value::Int(-3)]), "[0 -1 -2]");
        assert_eq!(
            call_str("untilStep", &[Value::Int(0), Value::Int(10), Value::Int(4)]),
            "[0 4 8]"
        );
        assert_eq!(call_str("seq", &[Value::Int(3)]), "1 2 3");
        assert_eq!(call_str("seq", &[Value::Int(0)]), "1 0");
        assert_eq!(
            call_str("seq", &[Value::Int(5), Value::Int(-2), Value::Int(1)]),
            "5 3 1"
        );
        assert_eq!(
            call_str("round", &[Value::Float(123.5555), Value::Int(3)]),
            "123.556"
        );
        assert_eq!(
            call_str("round", &[Value::Float(-1.5), Value::Int(0)]),
            "-2"
        );
    }
}
