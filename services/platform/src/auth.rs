//! The internal caller token: the gateway signs who is calling (subject, tenant, role) and every
//! service verifies it itself, rejecting calls without it.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

use crate::clock::{Clock, SystemClock};
use crate::config::AuthSettings;
use crate::tenant::OdsCode;

const ISSUER: &str = "alongside-gateway";
const AUDIENCE: &str = "alongside-services";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Partner,
    Staff,
    EngagementLead,
    Finance,
    Analyst,
    IcsAnalyst,
    Admin,
    /// The gateway acting for someone not signed in (the public expression-of-interest form).
    /// Never a user's role: not in [`Role::ALL`], so no account can be given it.
    Public,
}

impl Role {
    /// Readers of figures: analysts, an ICS's analysts and administrators, who never read the
    /// rows behind a figure, so get figures as published (protected months).
    pub fn reads_figures_only(self) -> bool {
        matches!(self, Role::Analyst | Role::IcsAnalyst | Role::Admin)
    }

    pub const ALL: [Role; 7] = [
        Role::Partner,
        Role::Staff,
        Role::EngagementLead,
        Role::Finance,
        Role::Analyst,
        Role::IcsAnalyst,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Staff => "staff",
            Role::EngagementLead => "engagement_lead",
            Role::Finance => "finance",
            Role::Analyst => "analyst",
            Role::IcsAnalyst => "ics_analyst",
            Role::Admin => "admin",
            Role::Public => "public",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// Who is calling, as verified from the internal token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The user id at the gateway (or the partner id for a partner).
    pub subject: String,
    pub tenant: OdsCode,
    pub role: Role,
    /// The ICB (integrated care system) the tenant belongs to, when it belongs to one: partners
    /// who consent to sharing are visible across it.
    #[serde(default)]
    pub ics: Option<OdsCode>,
}

impl Caller {
    /// The member trusts an ICS's user asks about, by ODS code (the gateway vouches for them):
    /// only an ICS's analysts and administrators may name any; each must be a code, named once.
    /// Problems go to `v`, under `trusts` and `trusts[i]`.
    pub fn trusts_asked(&self, codes: &[String], v: &mut crate::error::Violations) -> Vec<OdsCode> {
        if !codes.is_empty() && !matches!(self.role, Role::IcsAnalyst | Role::Admin) {
            v.push(
                "trusts",
                "only an ICS's analysts and administrators read several trusts' figures",
            );
        }
        let mut trusts: Vec<OdsCode> = Vec::new();
        for (i, code) in codes.iter().enumerate() {
            match OdsCode::parse(code) {
                Ok(code) if !trusts.contains(&code) => trusts.push(code),
                Ok(_) => v.push(&format!("trusts[{i}]"), "is named twice"),
                Err(e) => v.push(&format!("trusts[{i}]"), e.to_string()),
            }
        }
        trusts
    }

    /// Refuses the call unless the caller holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Status> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "the {} role may not do this",
                self.role.as_str()
            )))
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    tenant: OdsCode,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ics: Option<OdsCode>,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

#[derive(Clone)]
pub struct TokenSigner {
    key: EncodingKey,
    ttl_seconds: u64,
}

impl TokenSigner {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            key: EncodingKey::from_secret(settings.internal_token_key.expose_secret().as_bytes()),
            ttl_seconds: settings.token_ttl_seconds,
        }
    }

    pub fn sign(&self, caller: &Caller) -> String {
        let now = unix_now();
        let claims = Claims {
            sub: caller.subject.clone(),
            tenant: caller.tenant.clone(),
            role: caller.role,
            ics: caller.ics.clone(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + self.ttl_seconds,
        };
        // HS256 over serialisable claims cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key).unwrap_or_default()
    }
}

#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl TokenVerifier {
    pub fn new(settings: &AuthSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        Self {
            key: DecodingKey::from_secret(settings.internal_token_key.expose_secret().as_bytes()),
            validation,
        }
    }

    pub fn verify(&self, token: &str) -> Result<Caller, Status> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| Status::unauthenticated(format!("internal token rejected: {e}")))?;
        Ok(Caller {
            subject: data.claims.sub,
            tenant: data.claims.tenant,
            role: data.claims.role,
            ics: data.claims.ics,
        })
    }
}

/// Tokens live five minutes of real time, whatever day the process's clock says it is:
/// jsonwebtoken checks their expiry against the system's time.
fn unix_now() -> u64 {
    u64::try_from(SystemClock.now().unix_timestamp()).unwrap_or(0)
}

/// Verifies the bearer token of every call and puts the [`Caller`] into the request extensions.
#[derive(Clone)]
pub struct AuthInterceptor {
    verifier: Arc<TokenVerifier>,
}

impl AuthInterceptor {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            verifier: Arc::new(TokenVerifier::new(settings)),
        }
    }
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing internal token"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("authorization must be `Bearer <token>`"))?;
        let caller = self.verifier.verify(token)?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// The verified caller of a request that passed [`AuthInterceptor`].
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no verified caller"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn settings(key: &str) -> AuthSettings {
        AuthSettings {
            internal_token_key: SecretString::from(key.to_string()),
            token_ttl_seconds: 60,
            bank_details_key: SecretString::from(String::new()),
        }
    }

    fn lead() -> Caller {
        Caller {
            subject: "usr_1".into(),
            tenant: OdsCode::parse("RXH").unwrap(),
            role: Role::EngagementLead,
            ics: None,
        }
    }

    #[test]
    fn a_signed_token_verifies_to_the_same_caller() {
        let s = settings("0123456789abcdef0123456789abcdef");
        let token = TokenSigner::new(&s).sign(&lead());
        assert_eq!(TokenVerifier::new(&s).verify(&token).unwrap(), lead());
        let in_ics = Caller {
            ics: Some(OdsCode::parse("QZX").unwrap()),
            ..lead()
        };
        let token = TokenSigner::new(&s).sign(&in_ics);
        assert_eq!(TokenVerifier::new(&s).verify(&token).unwrap(), in_ics);
    }

    #[test]
    fn a_token_signed_with_another_key_is_rejected() {
        let token = TokenSigner::new(&settings("0123456789abcdef0123456789abcdef")).sign(&lead());
        let err = TokenVerifier::new(&settings("another-key-another-key-another-key"))
            .verify(&token)
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn roles_are_enforced() {
        assert!(lead().require(&[Role::EngagementLead, Role::Admin]).is_ok());
        assert_eq!(
            lead().require(&[Role::Finance]).unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(
            Role::parse("public"),
            None,
            "no account can hold the public role"
        );
    }
}
