//! The onboarding pipeline (DOMAIN.md §2): expressed interest → application → conversation →
//! references and checks → induction and training → active → resting → left. Every move is kept
//! in `partner_status_changes` with who, when and why; a move the pipeline does not allow is
//! refused with the moves it does allow.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Interest,
    Application,
    Conversation,
    Checks,
    Induction,
    Active,
    Resting,
    Left,
    /// Not a pipeline stage: the record after UK GDPR erasure.
    Erased,
}

impl Status {
    pub const PIPELINE: [Status; 8] = [
        Status::Interest,
        Status::Application,
        Status::Conversation,
        Status::Checks,
        Status::Induction,
        Status::Active,
        Status::Resting,
        Status::Left,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Interest => "interest",
            Status::Application => "application",
            Status::Conversation => "conversation",
            Status::Checks => "checks",
            Status::Induction => "induction",
            Status::Active => "active",
            Status::Resting => "resting",
            Status::Left => "left",
            Status::Erased => "erased",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Self::PIPELINE
            .into_iter()
            .chain([Status::Erased])
            .find(|s| s.as_str() == value)
    }

    /// Where a partner in this status may go next. Anyone may leave; a partner who left may
    /// come back as a new expression of interest; nobody comes back from erasure.
    pub fn next(self) -> &'static [Status] {
        use Status::*;
        match self {
            Interest => &[Application, Left],
            Application => &[Conversation, Left],
            Conversation => &[Checks, Left],
            Checks => &[Induction, Left],
            Induction => &[Active, Left],
            Active => &[Resting, Left],
            Resting => &[Active, Left],
            Left => &[Interest],
            Erased => &[],
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a move; the error says why it is refused and what is possible instead.
pub fn check_move(from: Status, to: Status) -> Result<(), String> {
    if from == to {
        return Err(format!("the partner is already {from}"));
    }
    if from.next().contains(&to) {
        return Ok(());
    }
    if from == Status::Erased {
        return Err("the partner's record was erased; it cannot change".into());
    }
    let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
    Err(format!(
        "a partner cannot move from {from} to {to}; from {from} they can move to {}",
        allowed.join(" or ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipeline_runs_forward_one_stage_at_a_time() {
        let stages = &Status::PIPELINE[..6];
        for pair in stages.windows(2) {
            assert_eq!(check_move(pair[0], pair[1]), Ok(()), "{pair:?}");
        }
        assert_eq!(check_move(Status::Active, Status::Resting), Ok(()));
        assert_eq!(check_move(Status::Resting, Status::Active), Ok(()));
        assert_eq!(check_move(Status::Left, Status::Interest), Ok(()));
        for status in &Status::PIPELINE[..7] {
            assert_eq!(check_move(*status, Status::Left), Ok(()), "{status} → left");
        }
    }

    #[test]
    fn skipping_checks_is_refused_with_what_is_allowed() {
        assert_eq!(
            check_move(Status::Application, Status::Active).unwrap_err(),
            "a partner cannot move from application to active; from application they can move to conversation or left"
        );
        assert_eq!(
            check_move(Status::Active, Status::Active).unwrap_err(),
            "the partner is already active"
        );
        assert!(check_move(Status::Erased, Status::Interest)
            .unwrap_err()
            .contains("erased"));
    }

    #[test]
    fn names_round_trip() {
        for status in Status::PIPELINE.into_iter().chain([Status::Erased]) {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        assert_eq!(Status::parse("Active"), None);
    }
}
