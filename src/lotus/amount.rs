//! Token amounts: attoFIL integers on the wire, and FIL with a unit where people write them.
//!
//! A request may give an amount as attoFIL digits (`"1500000000000000000"`) or as a decimal number with a unit
//! (`"1.5 FIL"`, `"250 milliFIL"`, `"3nanoFIL"`). The conversion is exact decimal arithmetic on integers: an amount
//! that does not come to a whole number of attoFIL, or exceeds what a Filecoin amount can hold, is refused.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// attoFIL in one FIL.
pub const ATTO_PER_FIL: u128 = 1_000_000_000_000_000_000;

/// The units accepted, with how many decimal places below FIL each one is.
const UNITS: [(&str, u32); 7] = [
    ("fil", 0),
    ("millifil", 3),
    ("microfil", 6),
    ("nanofil", 9),
    ("picofil", 12),
    ("femtofil", 15),
    ("attofil", 18),
];

/// The largest amount accepted: the whole supply of FIL (2 billion) with room to spare, well inside `u128`.
pub const MAX_ATTO: u128 = 10_000_000_000 * ATTO_PER_FIL;

/// A non-negative amount of FIL, held in attoFIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Amount(pub u128);

impl Amount {
    pub fn atto(self) -> u128 {
        self.0
    }

    /// Parses attoFIL digits, or a decimal number followed by a unit (FIL, milliFIL, microFIL, nanoFIL, picoFIL,
    /// femtoFIL, attoFIL; any case, with or without a space).
    pub fn parse(text: &str) -> Result<Amount, String> {
        let s = text.trim();
        if s.is_empty() {
            return Err(
                "an amount is needed: attoFIL digits or a number with a unit, e.g. \"1.5 FIL\""
                    .into(),
            );
        }
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = (s[..split].trim_end(), s[split..].trim());
        let places = if unit.is_empty() {
            if number.contains('.') {
                return Err(format!(
                    "invalid amount \"{text}\": a number without a unit is attoFIL and must be whole; write e.g. \"{number} FIL\""
                ));
            }
            18
        } else {
            let lower = unit.to_ascii_lowercase();
            match UNITS.iter().find(|(name, _)| *name == lower) {
                Some((_, places)) => *places,
                None => {
                    return Err(format!(
                        "invalid amount \"{text}\": unknown unit \"{unit}\"; use FIL, milliFIL, microFIL, nanoFIL, \
                         picoFIL, femtoFIL or attoFIL"
                    ))
                }
            }
        };
        let (whole, frac) = match number.split_once('.') {
            Some((w, f)) => (w, f),
            None => (number, ""),
        };
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(format!(
                "invalid amount \"{text}\": expected a non-negative decimal number, e.g. \"1.5 FIL\" or \"1000\""
            ));
        }
        // Digits beyond the unit's places must be zeros: anything else is a fraction of an attoFIL.
        let scale = 18 - places;
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() as u32 > scale {
            return Err(format!(
                "invalid amount \"{text}\": it is not a whole number of attoFIL (at most {scale} decimal places with this unit)"
            ));
        }
        let too_large = || {
            format!("invalid amount \"{text}\": larger than the largest amount accepted (10000000000 FIL)")
        };
        let mut digits = String::with_capacity(whole.len() + scale as usize);
        digits.push_str(whole);
        digits.push_str(frac_trimmed);
        for _ in frac_trimmed.len() as u32..scale {
            digits.push('0');
        }
        let digits = digits.trim_start_matches('0');
        if digits.len() > 39 {
            return Err(too_large());
        }
        let atto = if digits.is_empty() {
            0
        } else {
            digits.parse::<u128>().map_err(|_| too_large())?
        };
        if atto > MAX_ATTO {
            return Err(too_large());
        }
        Ok(Amount(atto))
    }

    /// The amount in FIL, exactly, e.g. `1.5 FIL`.
    pub fn to_fil_string(self) -> String {
        let whole = self.0 / ATTO_PER_FIL;
        let frac = self.0 % ATTO_PER_FIL;
        if frac == 0 {
            format!("{whole} FIL")
        } else {
            let f = format!("{frac:018}");
            format!("{whole}.{} FIL", f.trim_end_matches('0'))
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::str::FromStr for Amount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

/// On the wire to Lotus: attoFIL digits in a string.
impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// From a request: attoFIL digits or a number with a unit, in a string (a bare JSON integer is taken as attoFIL).
impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(u64),
        }
        match Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected an amount: a string of attoFIL digits or a number with a unit, e.g. \"1.5 FIL\"",
            )
        })? {
            Raw::Text(t) => Amount::parse(&t).map_err(serde::de::Error::custom),
            Raw::Number(n) => Ok(Amount(n as u128)),
        }
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(
                r"^\s*([0-9]+|[0-9]*\.?[0-9]+\s*([Ff][Ii][Ll]|[MmUuNnPpFfAa][A-Za-z]*[Ff][Ii][Ll]))\s*$",
            ))
            .description(Some(
                "An amount: attoFIL digits, or a decimal number with a unit (FIL, milliFIL, microFIL, nanoFIL, \
                 picoFIL, femtoFIL, attoFIL), converted exactly",
            ))
            .examples([serde_json::json!("1.5 FIL")])
            .into()
    }
}

impl utoipa::ToSchema for Amount {
    fn name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        let cases = [
            ("0", 0u128),
            ("1000", 1000),
            ("1.5 FIL", 1_500_000_000_000_000_000),
            ("1.5FIL", 1_500_000_000_000_000_000),
            ("0.000000000000000001 FIL", 1),
            ("2 fil", 2 * ATTO_PER_FIL),
            (".5 FIL", ATTO_PER_FIL / 2),
            ("250 milliFIL", ATTO_PER_FIL / 4),
            ("3 nanoFIL", 3_000_000_000),
        ];
        for (text, want) in cases {
            assert_eq!(Amount::parse(text), Ok(Amount(want)), "{text}");
        }
        assert_eq!(Amount::parse("1.0 attoFIL"), Ok(Amount(1)));
        assert_eq!(Amount::parse("10000000000 FIL"), Ok(Amount(MAX_ATTO)));
    }

    #[test]
    fn refuses_what_is_not_an_exact_amount() {
        for bad in [
            "",
            "-1",
            "1.5",
            "1.5 attoFIL",
            "0.0000000000000000001 FIL",
            "1e18",
            "1.5 BTC",
            "1..5 FIL",
            ". FIL",
            "FIL",
            "10000000000.000000000000000001 FIL",
            "99999999999999999999999999999999999999999999",
            "1 FIL FIL",
            "0x10",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn round_trips_through_fil() {
        for atto in [0u128, 1, 999, ATTO_PER_FIL, ATTO_PER_FIL * 3 / 2, MAX_ATTO] {
            let text = Amount(atto).to_fil_string();
            assert_eq!(Amount::parse(&text), Ok(Amount(atto)), "{text}");
        }
    }
}
