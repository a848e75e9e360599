//! Session tokens: 32 random bytes, given to the browser once in a cookie; the database keeps
//! only their SHA-256, so a copy of the database opens no session.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session cookie for `token`: readable by no script, sent to this site only.
pub fn cookie(token: &str, secure: bool) -> String {
    let max_age = super::SESSION_LIFETIME.as_secs();
    let secure = if secure { "; Secure" } else { "" };
    format!("{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", super::COOKIE)
}

/// The cookie that ends the session in the browser.
pub fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}", super::COOKIE)
}

/// The session token in a `Cookie` header, if any.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(super::COOKIE)?.strip_prefix('=')).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(hash(&a), a);
        assert_eq!(hash(&a), hash(&a));
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_strict() {
        let c = cookie("t", false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"), "{c}");
        assert!(cookie("t", true).ends_with("; Secure"));
        assert_eq!(from_cookie_header("a=1; lakeline_session=abc; b=2"), Some("abc"));
        assert_eq!(from_cookie_header("lakeline_sessionx=abc"), None);
        assert_eq!(from_cookie_header("lakeline_session="), None);
    }
}
