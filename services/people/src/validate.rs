//! Checks on what people type in, each with a message that says what to fix.

use alongside_platform::error::{ServiceError, Violations};
use alongside_proto::people::v1::{RecordTrainingRequest, RegisterPartnerRequest};
use time::Date;

/// A training or check record, checked.
#[derive(Debug, PartialEq, Eq)]
pub struct Training {
    pub kind: String,
    pub completed_on: Date,
    pub expires_on: Option<Date>,
    pub certificate_number: String,
}

/// Checks a training record: a known kind, a completion date not in the future, an expiry after
/// it (or the kind's usual validity), and a 12-digit certificate number for a DBS check.
pub fn training(r: &RecordTrainingRequest, today: Date) -> Result<Training, ServiceError> {
    let mut v = Violations::default();
    let kind = r.kind.trim();
    let validity = crate::roles::training_validity(kind);
    if validity.is_none() {
        let kinds: Vec<&str> = crate::roles::TRAINING.iter().map(|(k, _, _)| *k).collect();
        v.push("kind", format!("must be one of {}", kinds.join(", ")));
    }
    let completed = alongside_platform::parse_date(r.completed_on.trim());
    match completed {
        None => v.push(
            "completed_on",
            "enter the date it was completed, like 2026-03-27",
        ),
        Some(d) if d > today => v.push("completed_on", "must be today or in the past"),
        Some(_) => {}
    }
    let mut expires = None;
    if !r.expires_on.trim().is_empty() {
        match alongside_platform::parse_date(r.expires_on.trim()) {
            None => v.push(
                "expires_on",
                "enter the expiry date like 2029-03-27, or leave it empty",
            ),
            Some(e) if completed.is_some_and(|c| e <= c) => {
                v.push("expires_on", "must be after the date it was completed")
            }
            Some(e) => expires = Some(e),
        }
    } else if let (Some(Some(years)), Some(c)) = (validity, completed) {
        // The usual validity; the 29th of February falls back to the 28th.
        let year = c.year() + years;
        expires = Date::from_calendar_date(year, c.month(), c.day())
            .or_else(|_| Date::from_calendar_date(year, c.month(), c.day() - 1))
            .ok();
    }
    let certificate = r.certificate_number.trim().replace(' ', "");
    if kind == "dbs"
        && !(certificate.len() == 12 && certificate.chars().all(|c| c.is_ascii_digit()))
    {
        v.push(
            "certificate_number",
            "enter the 12-digit number on the DBS certificate",
        );
    }
    v.finish()?;
    Ok(Training {
        kind: kind.to_string(),
        completed_on: completed.expect("checked above"),
        expires_on: expires,
        certificate_number: certificate,
    })
}

/// Trims every field and checks it; returns the cleaned request.
pub fn registration(mut r: RegisterPartnerRequest) -> Result<RegisterPartnerRequest, ServiceError> {
    for field in [
        &mut r.given_name,
        &mut r.family_name,
        &mut r.email,
        &mut r.phone,
        &mut r.locality,
    ] {
        *field = field.trim().to_string();
    }
    r.email = r.email.to_ascii_lowercase();
    let mut v = Violations::default();
    required(&mut v, "given_name", &r.given_name, 100);
    required(&mut v, "family_name", &r.family_name, 100);
    required(&mut v, "locality", &r.locality, 100);
    if r.email.is_empty() {
        v.push("email", "enter an email address");
    } else if !looks_like_email(&r.email) {
        v.push(
            "email",
            "enter an email address in the correct format, like name@example.com",
        );
    }
    if !r.phone.is_empty() && !looks_like_phone(&r.phone) {
        v.push(
            "phone",
            "enter a UK phone number, like 01632 960 001 or +44 7700 900 982",
        );
    }
    v.finish()?;
    Ok(r)
}

/// A UK postcode in its usual form (upper case, one space before the inward code), if `value`
/// has the shape of one: an outward code of a letter or two, a digit, and an optional letter or
/// digit; then a digit and two letters.
pub fn postcode(value: &str) -> Option<String> {
    let compact: String = value
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let inward_ok = {
        let b = inward.as_bytes();
        b[0].is_ascii_digit() && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphabetic()
    };
    let o = outward.as_bytes();
    let letters = o.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let rest = &o[letters..];
    let outward_ok = (1..=2).contains(&letters)
        && !rest.is_empty()
        && rest.len() <= 2
        && rest[0].is_ascii_digit()
        && rest[1..].iter().all(|c| c.is_ascii_alphanumeric());
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

fn required(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.is_empty() {
        v.push(field, "is required");
    } else if value.chars().count() > max {
        v.push(field, format!("must be {max} characters or fewer"));
    }
}

fn looks_like_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && value.len() <= 254
        && !value.chars().any(char::is_whitespace)
}

fn looks_like_phone(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    value
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '+' || c == '-' || c == '(' || c == ')')
        && (10..=13).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn course(kind: &str, completed: &str, expires: &str, cert: &str) -> RecordTrainingRequest {
        RecordTrainingRequest {
            partner_id: "ptn_x".into(),
            kind: kind.into(),
            completed_on: completed.into(),
            expires_on: expires.into(),
            certificate_number: cert.into(),
        }
    }

    fn fields(err: ServiceError) -> Vec<String> {
        match err {
            ServiceError::Invalid(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn training_dates_are_in_order_and_default_to_the_usual_validity() {
        let today = date!(2026 - 11 - 24);
        let t = training(&course("safeguarding", "2026-03-27", "", ""), today).unwrap();
        assert_eq!(t.expires_on, Some(date!(2029 - 03 - 27)));
        let t = training(&course("induction", "2026-03-27", "", ""), today).unwrap();
        assert_eq!(t.expires_on, None);
        let t = training(&course("confidentiality", "2024-02-29", "", ""), today).unwrap();
        assert_eq!(t.expires_on, Some(date!(2025 - 02 - 28)));

        let err = training(
            &course("safeguarding", "2026-03-27", "2026-03-01", ""),
            today,
        );
        assert_eq!(fields(err.unwrap_err()), ["expires_on"]);
        let err = training(&course("safeguarding", "2026-12-01", "", ""), today);
        assert_eq!(fields(err.unwrap_err()), ["completed_on"]);
        let err = training(&course("juggling", "27/03/2026", "", ""), today);
        assert_eq!(fields(err.unwrap_err()), ["kind", "completed_on"]);
    }

    #[test]
    fn a_dbs_check_needs_its_certificate_number() {
        let today = date!(2026 - 11 - 24);
        let err = training(&course("dbs", "2026-01-05", "", "12345"), today);
        assert_eq!(fields(err.unwrap_err()), ["certificate_number"]);
        let t = training(&course("dbs", "2026-01-05", "", "0012 3456 7890"), today).unwrap();
        assert_eq!(t.certificate_number, "001234567890");
        assert_eq!(t.expires_on, Some(date!(2029 - 01 - 05)));
    }
    use alongside_platform::error::FieldError;

    fn valid() -> RegisterPartnerRequest {
        RegisterPartnerRequest {
            given_name: " Asha ".into(),
            family_name: "Patel".into(),
            email: "Asha@Example.org".into(),
            phone: "01632 960 001".into(),
            locality: "North".into(),
        }
    }

    #[test]
    fn trims_and_lowercases() {
        let r = registration(valid()).unwrap();
        assert_eq!(r.given_name, "Asha");
        assert_eq!(r.email, "asha@example.org");
    }

    #[test]
    fn reports_every_bad_field() {
        let bad = RegisterPartnerRequest {
            given_name: "".into(),
            email: "not-an-email".into(),
            phone: "12".into(),
            ..valid()
        };
        let ServiceError::Invalid(errors) = registration(bad).unwrap_err() else {
            panic!("expected invalid")
        };
        let fields: Vec<&str> = errors
            .iter()
            .map(|e: &FieldError| e.field.as_str())
            .collect();
        assert_eq!(fields, ["given_name", "email", "phone"]);
    }

    #[test]
    fn postcodes_have_their_shape() {
        assert_eq!(postcode("ls1 4ap").as_deref(), Some("LS1 4AP"));
        assert_eq!(postcode("SW1A1AA").as_deref(), Some("SW1A 1AA"));
        assert_eq!(postcode(" m1  1ae ").as_deref(), Some("M1 1AE"));
        assert_eq!(postcode("B33 8TH").as_deref(), Some("B33 8TH"));
        for bad in [
            "", "LS1", "12345", "LS1 4A", "ABC1 4AP", "LS1 AAA", "LS£ 4AP",
        ] {
            assert_eq!(postcode(bad), None, "{bad}");
        }
    }

    #[test]
    fn phone_is_optional() {
        assert!(registration(RegisterPartnerRequest {
            phone: "".into(),
            ..valid()
        })
        .is_ok());
    }
}
