//! Password hashes: argon2id with a random salt, in the PHC string format.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// A valid hash of no one's password, checked against when a name is unknown.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Xo8wzkC2tN9Tg6tCyb2uEKTm1Aoax7W7nyuGqY4ZUyE";

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 hashes any password").to_string()
}

pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_is_salted() {
        let a = hash("correct horse battery");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert_ne!(a, hash("correct horse battery"), "a new salt each time");
        assert!(!verify("anything", "not a hash"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy hash parses, so unknown names cost a verification");
    }
}
