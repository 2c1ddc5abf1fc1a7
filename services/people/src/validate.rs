//! Checks on what people type in, each with a message that says what to fix.

use alongside_platform::error::{ServiceError, Violations};
use alongside_proto::people::v1::RegisterPartnerRequest;

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
    fn phone_is_optional() {
        assert!(registration(RegisterPartnerRequest {
            phone: "".into(),
            ..valid()
        })
        .is_ok());
    }
}
