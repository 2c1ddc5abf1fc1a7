//! Tenants are NHS organisations, named by ODS code.

use std::fmt;

/// An ODS code: trusts are 3 characters (`RXH`), trust sites 5 (`RXH01`), ICBs 3 starting with
/// `Q`, sub-ICB locations vary. Only the shape is checked; the list of codes is not hard-coded.
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct OdsCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an ODS code is 3 to 6 letters and digits, such as RXH or QWE; got {0:?}")]
pub struct InvalidOdsCode(pub String);

impl OdsCode {
    pub fn parse(value: &str) -> Result<Self, InvalidOdsCode> {
        let code = value.trim().to_ascii_uppercase();
        let shape_ok = (3..=6).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if shape_ok {
            Ok(Self(code))
        } else {
            Err(InvalidOdsCode(value.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// ICBs (the statutory bodies of ICSs) have 3-character codes starting with Q.
    pub fn is_icb(&self) -> bool {
        self.0.len() == 3 && self.0.starts_with('Q')
    }
}

impl TryFrom<String> for OdsCode {
    type Error = InvalidOdsCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<OdsCode> for String {
    fn from(code: OdsCode) -> Self {
        code.0
    }
}

impl fmt::Display for OdsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_trust_site_and_icb_shapes() {
        assert_eq!(OdsCode::parse("rxh").unwrap().as_str(), "RXH");
        assert!(OdsCode::parse("RXH01").is_ok());
        assert!(OdsCode::parse("QWE").unwrap().is_icb());
        assert!(!OdsCode::parse("RXH").unwrap().is_icb());
        assert!(!OdsCode::parse("QWE01").unwrap().is_icb());
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in ["", "RX", "RXH-01", "TOOLONG1", "rx h"] {
            assert!(OdsCode::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
