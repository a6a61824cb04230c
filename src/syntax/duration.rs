//! Durations as text (`500ms`, `30s`, `1h30m`, at most `365d`): the one
//! parser behind duration literals, `--set` values and scenario fields,
//! agent outputs of type `duration`, and the backends file's `grace`.

/// The largest duration accepted: 365 days.
pub const MAX_DURATION_MS: u64 = 365 * 24 * 3600 * 1000;

/// The units, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Why text is not an accepted duration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// The text is empty (zero is `0s`).
    Empty,
    /// A group does not start with a number (`s`, `-1s`, ` 30s`).
    NoNumber,
    /// A number has no unit after it (`30`, `1h30`).
    NoUnit,
    /// A number is followed by letters that are not a unit (`30sec`).
    UnknownUnit(String),
    /// Units are not from the largest to the smallest, each once (`30s5m`).
    OutOfOrder,
    /// Well written, but longer than [`MAX_DURATION_MS`] (`366d`).
    OverLimit,
}

impl DurationError {
    /// What is wrong, to follow "expected a duration such as `30s`".
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Empty => Some("the value is empty; write `0s` for zero".into()),
            Self::NoNumber => None,
            Self::NoUnit => Some("whole numbers, each followed by ms, s, m, h or d".into()),
            Self::UnknownUnit(unit) => Some(format!("`{unit}` is not a unit: ms, s, m, h or d")),
            Self::OutOfOrder => {
                Some("units go from the largest to the smallest, each at most once".into())
            }
            Self::OverLimit => Some("at most `365d`".into()),
        }
    }
}

/// Parses `1h30m`-style text into milliseconds: number + unit groups, units
/// from the largest to the smallest, each at most once, at most `365d`. A
/// malformed text is reported as such even when a number in it is too big.
pub fn duration_ms(text: &str) -> Result<u64, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut rest = text;
    let mut next_unit = 0;
    let mut total: Option<u64> = Some(0);
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::NoNumber);
        }
        let (number, after) = rest.split_at(digits);
        let letters = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(letters);
        if unit.is_empty() {
            return Err(DurationError::NoUnit);
        }
        let Some(index) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit(unit.to_string()));
        };
        if index < next_unit {
            return Err(DurationError::OutOfOrder);
        }
        next_unit = index + 1;
        // Digits only: a failed parse is an overflow, decided at the end.
        total = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(UNITS[index].1))
            .zip(total)
            .and_then(|(ms, t)| t.checked_add(ms));
        rest = after;
    }
    total
        .filter(|t| *t <= MAX_DURATION_MS)
        .ok_or(DurationError::OverLimit)
}

/// Parses `1h30m`-style text into milliseconds; `None` when it is not an
/// accepted duration (see [`duration_ms`]).
pub fn parse_duration(text: &str) -> Option<u64> {
    duration_ms(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("30s"), Some(30_000));
        assert_eq!(parse_duration("2m"), Some(120_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("1m30s500ms"), Some(90_500));
        assert_eq!(parse_duration("1d"), Some(86_400_000));
        assert_eq!(parse_duration("0s"), Some(0));
        assert_eq!(parse_duration("365d"), Some(MAX_DURATION_MS));
    }

    #[test]
    fn each_kind_of_mistake_is_named() {
        use DurationError::*;
        for (text, err) in [
            ("", Empty),
            ("s", NoNumber),
            ("-1s", NoNumber),
            (" 30s", NoNumber),
            ("30", NoUnit),
            ("1h30", NoUnit),
            ("1.5s", NoUnit),
            ("30sec", UnknownUnit("sec".into())),
            ("soon", NoNumber),
            ("30s5m", OutOfOrder),
            ("1m1m", OutOfOrder),
            ("366d", OverLimit),
            ("100000d", OverLimit),
            ("99999999999999999999s", OverLimit),
            ("99999999999999999999d1d", OutOfOrder),
            ("99999999999999999999x", UnknownUnit("x".into())),
        ] {
            assert_eq!(duration_ms(text), Err(err), "{text:?}");
        }
    }
}
