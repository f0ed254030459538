//! Who may write: bearer tokens kept as Argon2id hashes, one per line of a tokens file (or of
//! an environment variable):
//!
//! ```text
//! # name  role                         hash (from `servicemap token NAME ROLE`)
//! office  editor                       $argon2id$v=19$m=19456,t=2,p=1$…
//! wang    grid:500113006004-G05        $argon2id$v=19$…
//! ```
//!
//! A token is never stored, logged or compared in variable time: Argon2 verification compares
//! in constant time, and the cache of tokens already verified (Argon2 costs ~20 ms on purpose,
//! too much per write) compares with [`ct_eq`].

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};

use argon2::password_hash::{PasswordHashString, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};

/// What a token may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Every editable collection.
    Editor,
    /// Facilities and buildings inside these grids (ids of the grids layer).
    Grid(Vec<String>),
}

impl Role {
    /// `editor` or `grid:ID,ID,…`.
    pub fn parse(s: &str) -> Result<Role, String> {
        if s == "editor" {
            return Ok(Role::Editor);
        }
        if let Some(list) = s.strip_prefix("grid:") {
            let grids: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect();
            if !grids.is_empty() {
                return Ok(Role::Grid(grids));
            }
        }
        Err(format!(
            "role '{s}' is neither 'editor' nor 'grid:GRID_ID[,GRID_ID…]'"
        ))
    }

    #[must_use]
    pub fn as_string(&self) -> String {
        match self {
            Role::Editor => "editor".into(),
            Role::Grid(g) => format!("grid:{}", g.join(",")),
        }
    }
}

/// The holder of a verified token: its name (what the history records) and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

#[derive(Debug)]
struct Entry {
    principal: Principal,
    hash: PasswordHashString,
}

/// The configured tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    entries: Vec<Entry>,
    /// Keyed hash of a verified token → (the token's bytes, entry). The key is random per
    /// process, so nobody can aim at a bucket; the final comparison is constant-time.
    verified: Mutex<HashMap<u64, (Vec<u8>, usize)>>,
    hasher: RandomState,
}

/// Constant-time equality of two byte strings (length is not secret: tokens have one size).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// Parse the tokens text; the error names the line.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, role, hash] = fields[..] else {
                return Err(format!(
                    "line {}: expected 'NAME ROLE HASH' (make one with `servicemap token NAME ROLE`)",
                    i + 1
                ));
            };
            let role = Role::parse(role).map_err(|e| format!("line {}: {e}", i + 1))?;
            let hash = PasswordHashString::new(hash)
                .map_err(|e| format!("line {}: not an Argon2 hash: {e}", i + 1))?;
            entries.push(Entry {
                principal: Principal {
                    name: name.to_string(),
                    role,
                },
                hash,
            });
        }
        Ok(Tokens {
            entries,
            verified: Mutex::new(HashMap::new()),
            hasher: RandomState::new(),
        })
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The principal holding `token`, or `None`.
    pub fn verify(&self, token: &str) -> Option<Principal> {
        let key = self.hasher.hash_one(token.as_bytes());
        {
            let cache = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((bytes, i)) = cache.get(&key)
                && ct_eq(bytes, token.as_bytes())
            {
                return Some(self.entries[*i].principal.clone());
            }
        }
        // Every entry is tried, so the time does not say which name came close.
        let mut found = None;
        for (i, e) in self.entries.iter().enumerate() {
            let ok = Argon2::default()
                .verify_password(token.as_bytes(), &e.hash.password_hash())
                .is_ok();
            if ok && found.is_none() {
                found = Some(i);
            }
        }
        let i = found?;
        let mut cache = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        // Bounded: wrong tokens are never cached, right ones are few.
        if cache.len() < 4096 {
            cache.insert(key, (token.as_bytes().to_vec(), i));
        }
        Some(self.entries[i].principal.clone())
    }
}

/// A new random token (256 bits, hex) and its tokens-file line.
pub fn new_token(name: &str, role: &Role) -> Result<(String, String), String> {
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(format!("token name '{name}' must be one word"));
    }
    let bytes: [u8; 32] = rand::random();
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let line = format!("{name} {} {}", role.as_string(), hash_token(&token)?);
    Ok((token, line))
}

/// The Argon2id hash (PHC string) of a token.
pub fn hash_token(token: &str) -> Result<String, String> {
    // rand's thread generator is a CSPRNG seeded from the OS.
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(token.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_token_verifies_and_a_wrong_one_does_not() {
        let (tok, line) = new_token("wang", &Role::Grid(vec!["G1".into()])).unwrap();
        assert!(
            !line.contains(&tok),
            "the file line must not hold the token"
        );
        let t = Tokens::parse(&format!("# comment\n{line}\n")).unwrap();
        let p = t.verify(&tok).unwrap();
        assert_eq!(p.name, "wang");
        assert_eq!(p.role, Role::Grid(vec!["G1".into()]));
        // Cached path answers the same.
        assert_eq!(t.verify(&tok).unwrap(), p);
        assert!(t.verify("nope").is_none());
        assert!(t.verify(&tok[..tok.len() - 1]).is_none());
        assert!(Tokens::parse("a editor").is_err());
        assert!(Tokens::parse("a boss $argon2id$v=19$x").is_err());
    }

    #[test]
    fn ct_eq_is_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
