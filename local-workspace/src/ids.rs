//! Identifiers shaped like CML's: four groups of four lower-case letters and digits.

use rand::Rng;

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub fn new_id() -> String {
    let mut rng = rand::rng();
    let mut id = String::with_capacity(19);
    for group in 0..4 {
        if group > 0 {
            id.push('-');
        }
        for _ in 0..4 {
            id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
        }
    }
    id
}

/// A secret for API keys: two 64-hex-character halves joined by a dot, like CML's.
pub fn new_api_key() -> String {
    let mut rng = rand::rng();
    let half = |rng: &mut rand::rngs::ThreadRng| (0..32).map(|_| format!("{:02x}", rng.random::<u8>())).collect::<String>();
    format!("{}.{}", half(&mut rng), half(&mut rng))
}
