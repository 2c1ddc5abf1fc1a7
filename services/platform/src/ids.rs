//! Prefixed, time-ordered identifiers: `ptn_…` for a partner, `opp_…` for an opportunity, and so on.

pub const PARTNER: &str = "ptn";
pub const OPPORTUNITY: &str = "opp";
pub const ASSIGNMENT: &str = "asg";
pub const ATTENDANCE: &str = "att";
pub const CLAIM: &str = "clm";
pub const RATE_CARD: &str = "rcd";
pub const PAYMENT_RUN: &str = "run";
pub const RECEIPT: &str = "rct";
pub const JOURNAL: &str = "jnl";
pub const BENEFIT_LIMIT: &str = "lim";
pub const FFT_RESPONSE: &str = "fft";
pub const PROM_RESPONSE: &str = "prm";
pub const COMMENT: &str = "cmt";
pub const THEME_TRAINING: &str = "thm";
pub const COMPLAINT: &str = "cpl";
pub const USER: &str = "usr";
pub const SESSION: &str = "ses";
pub const STAFF_REQUEST: &str = "req";
pub const FORUM: &str = "frm";
pub const MEETING: &str = "mtg";
pub const ACTION: &str = "act";

/// A new identifier: the prefix, an underscore and a UUID v7 (sortable by creation time).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// Whether `id` looks like an identifier with this prefix (cheap check before a lookup).
pub fn has_prefix(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| rest.len() == 32 && rest.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_carry_their_prefix_and_sort_by_time() {
        let first = new_id(PARTNER);
        let second = new_id(PARTNER);
        assert!(has_prefix(&first, PARTNER));
        assert!(!has_prefix(&first, CLAIM));
        assert!(first < second);
    }
}
