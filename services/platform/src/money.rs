//! Money is integer pence, never a float.

/// An amount in pence (GBP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pence(pub i64);

impl Pence {
    /// `£150.00` style, for pages and exports.
    pub fn display(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}£{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pence_display() {
        assert_eq!(Pence(15_000).display(), "£150.00");
        assert_eq!(Pence(7_505).display(), "£75.05");
        assert_eq!(Pence(-250).display(), "-£2.50");
    }
}
