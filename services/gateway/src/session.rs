//! Sign-in and sessions: argon2-hashed passwords, a random session token in a `HttpOnly`,
//! `SameSite=Lax` cookie (`Secure` behind HTTPS), and a CSRF token per session.

use alongside_platform::clock::{Clock, SystemClock};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use http::request::Parts;
use rand::RngCore;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use alongside_platform::{Caller, OdsCode, Role};

use crate::error::AppError;
use crate::store::{session, user};
use crate::AppState;

pub const SESSION_COOKIE: &str = "alongside_session";
/// Double-submit cookie protecting the sign-in form, before there is a session.
pub const SIGN_IN_CSRF_COOKIE: &str = "alongside_signin_csrf";

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("hashing password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A signed-in user, as the pages and the API see them.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub user: user::Model,
    pub caller: Caller,
    pub csrf_token: String,
}

impl SignedIn {
    pub fn has_role(&self, roles: &[Role]) -> bool {
        roles.contains(&self.caller.role)
    }

    /// Refuses the page or call unless the user holds one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if self.has_role(roles) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Refuses a state-changing request whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), AppError> {
        match presented {
            Some(token) if constant_time_eq(token.as_bytes(), self.csrf_token.as_bytes()) => Ok(()),
            _ => Err(AppError::Csrf),
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the e-mail and password; on success creates a session and returns its cookie token.
/// An account or address that has failed too often waits first (`TooManyRequests`); passwords are
/// checked on the bounded hashing threads.
pub async fn sign_in(
    state: &crate::AppState,
    address: crate::throttle::ClientAddress,
    email: &str,
    password: &str,
) -> Result<Option<(String, SignedIn)>, AppError> {
    let db = &state.db;
    crate::throttle::before_sign_in(db, email, address).await?;
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_ascii_lowercase()))
        .one(db)
        .await?;
    // Verify against a fixed hash when the user is unknown, so timing does not reveal accounts.
    static DUMMY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = match &found {
        Some(account) => account.password_hash.clone(),
        None => DUMMY_HASH
            .get_or_init(|| hash_password("no such user").unwrap_or_default())
            .clone(),
    };
    let given = password.to_string();
    let verified = state
        .limits
        .hash(move || verify_password(&given, &hash))
        .await?;
    let account = match found {
        Some(account) if verified => account,
        _ => {
            crate::throttle::failed(db, &state.limits.settings, email, address).await?;
            return Ok(None);
        }
    };
    crate::throttle::succeeded(db, email).await?;
    let ttl_minutes = state.settings.session.ttl_minutes;
    let token = random_token();
    let csrf_token = random_token();
    // Sessions last their hours of real time, whatever day the clock is set to.
    let now = SystemClock.now();
    session::Entity::insert(session::ActiveModel {
        token_hash: Set(digest(&token)),
        user_id: Set(account.id.clone()),
        csrf_token: Set(csrf_token.clone()),
        created_at: Set(alongside_platform::format_rfc3339(now)),
        expires_at: Set(now.unix_timestamp() + ttl_minutes * 60),
    })
    .exec_without_returning(db)
    .await?;
    let ics = ics_of(db, &account.tenant_id).await?;
    let signed_in = to_signed_in(account, csrf_token, ics)?;
    Ok(Some((token, signed_in)))
}

/// Forgets a partner's sign-in at `tenant` when they are erased: their account (e-mail, name,
/// password), its sessions, ended at once, and any invitation made for them.
pub async fn forget_partner(
    db: &DatabaseConnection,
    tenant: &OdsCode,
    partner_id: &str,
) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    let accounts: Vec<String> = user::Entity::find()
        .filter(user::Column::TenantId.eq(tenant.as_str()))
        .filter(user::Column::PartnerId.eq(partner_id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    session::Entity::delete_many()
        .filter(session::Column::UserId.is_in(accounts.clone()))
        .exec(&txn)
        .await?;
    user::Entity::delete_many()
        .filter(user::Column::Id.is_in(accounts))
        .exec(&txn)
        .await?;
    crate::store::invitation::Entity::delete_many()
        .filter(crate::store::invitation::Column::TenantId.eq(tenant.as_str()))
        .filter(crate::store::invitation::Column::PartnerId.eq(partner_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

pub async fn sign_out(db: &DatabaseConnection, token: &str) -> Result<(), AppError> {
    session::Entity::delete_by_id(digest(token))
        .exec(db)
        .await?;
    Ok(())
}

async fn lookup(db: &DatabaseConnection, token: &str) -> Result<Option<SignedIn>, AppError> {
    let Some(found) = session::Entity::find_by_id(digest(token)).one(db).await? else {
        return Ok(None);
    };
    if found.expires_at < SystemClock.now().unix_timestamp() {
        session::Entity::delete_by_id(found.token_hash)
            .exec(db)
            .await?;
        return Ok(None);
    }
    let Some(account) = user::Entity::find_by_id(found.user_id).one(db).await? else {
        return Ok(None);
    };
    let ics = ics_of(db, &account.tenant_id).await?;
    Ok(Some(to_signed_in(account, found.csrf_token, ics)?))
}

/// The ICS (ICB) the user's trust belongs to, from the tenant table.
async fn ics_of(db: &DatabaseConnection, tenant: &str) -> Result<Option<OdsCode>, AppError> {
    Ok(crate::store::tenant::Entity::find_by_id(tenant.to_string())
        .one(db)
        .await?
        .and_then(|t| t.parent)
        .and_then(|p| OdsCode::parse(&p).ok()))
}

fn to_signed_in(
    account: user::Model,
    csrf_token: String,
    ics: Option<OdsCode>,
) -> Result<SignedIn, AppError> {
    let role = Role::parse(&account.role).ok_or_else(|| {
        AppError::Internal(format!(
            "user {} has unknown role {}",
            account.id, account.role
        ))
    })?;
    let tenant =
        OdsCode::parse(&account.tenant_id).map_err(|e| AppError::Internal(e.to_string()))?;
    let subject = account
        .partner_id
        .clone()
        .unwrap_or_else(|| account.id.clone());
    Ok(SignedIn {
        caller: Caller {
            subject,
            tenant,
            role,
            ics,
        },
        user: account,
        csrf_token,
    })
}

pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/")
        .build()
}

pub fn sign_in_csrf_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SIGN_IN_CSRF_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/sign-in")
        .build()
}

/// Double-submit cookie of the forms used before there is a session (joining, accepting an
/// invitation), scoped to the form's path.
pub const FORM_CSRF_COOKIE: &str = "alongside_form_csrf";

pub fn form_csrf_cookie(token: String, path: &str, secure: bool) -> Cookie<'static> {
    Cookie::build((FORM_CSRF_COOKIE, token))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path(path.to_string())
        .build()
}

/// Refuses a sessionless form whose token does not match its cookie.
pub fn check_form_csrf(jar: &CookieJar, presented: &str) -> Result<(), AppError> {
    let expected = jar
        .get(FORM_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), presented.as_bytes()) {
        return Err(AppError::Csrf);
    }
    Ok(())
}

/// The signed-in user, or a refusal: pages redirect to sign-in, the API answers 401.
impl FromRequestParts<AppState> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let is_api = parts.uri.path().starts_with("/api/");
        let unauthenticated = if is_api {
            AppError::Unauthenticated
        } else {
            AppError::SignInRequired
        };
        let Some(cookie) = jar.get(SESSION_COOKIE) else {
            return Err(unauthenticated);
        };
        match lookup(&state.db, cookie.value()).await? {
            Some(signed_in) => Ok(signed_in),
            None => Err(unauthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_compared_in_constant_time() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(a.len() >= 43);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
    }
}
