//! Who is asking: local accounts with argon2id passwords, server-side sessions, and the first
//! admin. Roles are in [`domain::Role`]; every server function checks its own (see
//! `app::backend::with`), pages and the live stream are checked in `http::access`.

pub mod passwords;
pub mod sessions;
mod throttle;
pub mod tokens;

use std::net::IpAddr;
use std::time::Duration;

use chrono::Utc;
use domain::Role;

use crate::store::tokens::{NewToken, TokenRow};
use crate::store::users::UserRow;
use crate::store::{Store, StoreError};
pub use throttle::Throttle;

/// How long a session lasts after sign-in.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// The name of the session cookie.
pub const COOKIE: &str = "lakeline_session";

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("wrong name or password")]
    WrongCredentials,
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(u64),
    #[error("Lakeline already has users: ask an admin to add you (the set-up page is only for the first one)")]
    SetupDone,
    #[error("the first admin can only be created from this machine (open Lakeline at http://127.0.0.1), or with `lakeline user add`")]
    NotLoopback,
    #[error("name: use 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    BadName,
    #[error("password: use at least {MIN_PASSWORD} characters")]
    WeakPassword,
    #[error("there is already a user named {0:?}")]
    NameTaken(String),
    #[error("there is no user named {0:?}")]
    NoSuchUser(String),
    #[error("there is no API token {0}")]
    NoSuchToken(i64),
    #[error("role: a token's role may not be above its owner's ({0})")]
    RoleAboveOwner(Role),
    #[error("only admins may make or revoke tokens of other users")]
    NotYours,
    #[error("token name: use 1 to 64 characters")]
    BadTokenName,
    #[error("{0:?} is the last admin: make someone else an admin first")]
    LastAdmin(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type AuthResult<T> = Result<T, AuthError>;

/// A proxy in front of Lakeline that signs people in and names them in a header.
#[derive(Debug, Clone)]
pub struct ProxyTrust {
    /// The header's name, lower case.
    pub header: String,
    /// Only requests from these addresses are believed.
    pub from: Vec<IpAddr>,
    /// The role of a person the first time the proxy names them.
    pub default_role: Role,
}

/// Sign-in, sessions and accounts, over Lakeline's store.
pub struct Auth {
    store: Store,
    throttle: Throttle,
    proxy: Option<ProxyTrust>,
}

fn check_name(name: &str) -> AuthResult<()> {
    let ok = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c));
    if ok { Ok(()) } else { Err(AuthError::BadName) }
}

fn check_password(password: &str) -> AuthResult<()> {
    if password.chars().count() >= MIN_PASSWORD { Ok(()) } else { Err(AuthError::WeakPassword) }
}

impl Auth {
    pub fn new(store: Store) -> Self {
        Auth { store, throttle: Throttle::default(), proxy: None }
    }

    /// Also believes the user a signing-in proxy names.
    pub fn trusting(mut self, proxy: Option<ProxyTrust>) -> Self {
        self.proxy = proxy;
        self
    }

    /// The header a trusted proxy names people in, if a proxy is trusted and `from` is it.
    pub fn proxy_header(&self, from: IpAddr) -> Option<&str> {
        self.proxy.as_ref().filter(|p| p.from.contains(&from)).map(|p| p.header.as_str())
    }

    /// The user a trusted proxy named, created with the default role on first sight (with no
    /// password: they sign in only through the proxy). `None` for a name Lakeline cannot use.
    pub async fn user_from_proxy(&self, name: &str) -> AuthResult<Option<(UserRow, bool)>> {
        let Some(proxy) = &self.proxy else { return Ok(None) };
        if check_name(name).is_err() {
            return Ok(None);
        }
        if let Some(user) = self.store.user_by_name(name).await? {
            return Ok((!user.disabled).then_some((user, false)));
        }
        // "!" is no PHC string: no password ever matches it.
        self.store.insert_user(name, proxy.default_role, "!").await?;
        Ok(self.store.user_by_name(name).await?.map(|u| (u, true)))
    }

    /// Whether nobody can sign in yet (then the set-up page offers to create the first admin).
    pub async fn needs_first_admin(&self) -> AuthResult<bool> {
        Ok(self.store.count_users().await? == 0)
    }

    /// Adds a user (an admin's action, or `lakeline user add`).
    pub async fn add_user(&self, name: &str, role: Role, password: &str) -> AuthResult<i64> {
        check_name(name)?;
        check_password(password)?;
        let hash = passwords::hash(password);
        self.store.insert_user(name, role, &hash).await?.ok_or_else(|| AuthError::NameTaken(name.to_string()))
    }

    /// The first admin, from the set-up page: only while there are no users, only from loopback.
    pub async fn create_first_admin(&self, name: &str, password: &str, from: IpAddr) -> AuthResult<i64> {
        if !from.is_loopback() {
            return Err(AuthError::NotLoopback);
        }
        check_name(name)?;
        check_password(password)?;
        let hash = passwords::hash(password);
        self.store.insert_first_user(name, Role::Admin, &hash).await?.ok_or(AuthError::SetupDone)
    }

    /// Checks a name and password; on success opens a session and answers its user and token
    /// (the cookie's value, never stored). Failures are slowed down per name and per address.
    pub async fn sign_in(&self, name: &str, password: &str, from: IpAddr) -> AuthResult<(UserRow, String)> {
        let keys = [format!("name:{}", name.to_lowercase()), format!("address:{from}")];
        if let Some(wait) = keys.iter().filter_map(|k| self.throttle.wait(k)).max() {
            return Err(AuthError::Throttled(wait.as_secs().max(1)));
        }
        let user = self.store.user_by_name(name).await?;
        // A missing user costs a hash too, so that timing does not tell who exists.
        let stored = user.as_ref().map(|u| u.password_hash.as_str()).unwrap_or(passwords::DUMMY_HASH);
        let matches = passwords::verify(password, stored);
        match user {
            Some(user) if matches && !user.disabled => {
                for key in &keys {
                    self.throttle.forget(key);
                }
                self.store.delete_expired_sessions().await?;
                let token = sessions::new_token();
                let expires = Utc::now() + chrono::Duration::from_std(SESSION_LIFETIME).expect("a small duration");
                self.store.create_session(&sessions::hash(&token), user.id, expires, &from.to_string()).await?;
                Ok((user, token))
            }
            _ => {
                for key in &keys {
                    self.throttle.failed(key);
                }
                Err(AuthError::WrongCredentials)
            }
        }
    }

    /// The user a session token belongs to, while the session lives.
    pub async fn user_of(&self, token: &str) -> AuthResult<Option<UserRow>> {
        Ok(self.store.session_user(&sessions::hash(token)).await?)
    }

    pub async fn sign_out(&self, token: &str) -> AuthResult<()> {
        Ok(self.store.delete_session(&sessions::hash(token)).await?)
    }

    /// The user an API token acts for, with the role it acts in: the token's, or the owner's
    /// when the owner's is now lower. Revoked tokens and disabled owners open nothing.
    pub async fn user_of_token(&self, token: &str) -> AuthResult<Option<UserRow>> {
        Ok(self.store.token_user(&sessions::hash(token)).await?.map(|(mut user, token_role)| {
            if user.role.may(token_role) {
                user.role = token_role;
            }
            user
        }))
    }

    /// Makes a token for `owner` (`by` themselves, or an admin); answers it and the only copy
    /// of its secret.
    pub async fn create_token(&self, by: (&str, Role), owner: &str, name: &str, role: Role) -> AuthResult<(TokenRow, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(AuthError::BadTokenName);
        }
        if !by.0.eq_ignore_ascii_case(owner) && by.1 != Role::Admin {
            return Err(AuthError::NotYours);
        }
        let user = self.store.user_by_name(owner).await?.filter(|u| !u.disabled).ok_or_else(|| AuthError::NoSuchUser(owner.to_string()))?;
        if !user.role.may(role) {
            return Err(AuthError::RoleAboveOwner(user.role));
        }
        let secret = tokens::new_token();
        let id = self
            .store
            .insert_token(NewToken {
                user_id: user.id,
                name,
                role,
                token_hash: &sessions::hash(&secret),
                prefix: &tokens::visible_part(&secret),
                created_by: by.0,
            })
            .await?;
        let row = self.store.token(id).await?.ok_or(AuthError::NoSuchToken(id))?;
        Ok((row, secret))
    }

    /// Revokes a token (its owner's or an admin's action); answers what it was.
    pub async fn revoke_token(&self, by: (&str, Role), id: i64) -> AuthResult<TokenRow> {
        let token = self.store.token(id).await?.ok_or(AuthError::NoSuchToken(id))?;
        if !by.0.eq_ignore_ascii_case(&token.owner) && by.1 != Role::Admin {
            return Err(AuthError::NotYours);
        }
        self.store.revoke_token(id).await?;
        Ok(token)
    }

    /// Changes a user's role or disables them (an admin's action); the last enabled admin stays.
    pub async fn update_user(&self, name: &str, role: Role, disabled: bool) -> AuthResult<UserRow> {
        let user = self.store.user_by_name(name).await?.ok_or_else(|| AuthError::NoSuchUser(name.to_string()))?;
        if !self.store.set_user_access(&user.name, role, disabled).await? {
            return Err(AuthError::LastAdmin(user.name));
        }
        self.store.user_by_name(&user.name).await?.ok_or_else(|| AuthError::NoSuchUser(name.to_string()))
    }
}
