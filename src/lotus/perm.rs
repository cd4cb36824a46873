//! Lotus's API permissions: read < write < sign < admin, held by a token as a set.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Lotus API permission. Ordered as Lotus orders them: read < write < sign < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Perm {
    Read,
    Write,
    Sign,
    Admin,
}

impl Perm {
    pub const ALL: [Perm; 4] = [Perm::Read, Perm::Write, Perm::Sign, Perm::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Perm::Read => "read",
            Perm::Write => "write",
            Perm::Sign => "sign",
            Perm::Admin => "admin",
        }
    }

    /// What `lotus auth create-token --perm P` grants: P and every permission below it.
    pub fn up_to(self) -> PermSet {
        Perm::ALL.into_iter().filter(|p| *p <= self).collect()
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Perm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "read" => Ok(Perm::Read),
            "write" => Ok(Perm::Write),
            "sign" => Ok(Perm::Sign),
            "admin" => Ok(Perm::Admin),
            other => Err(format!(
                "unknown permission \"{other}\": expected one of read, write, sign, admin"
            )),
        }
    }
}

/// The set of permissions a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PermSet(u8);

impl PermSet {
    pub const EMPTY: PermSet = PermSet(0);

    pub fn contains(self, p: Perm) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn insert(&mut self, p: Perm) {
        self.0 |= p.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Perm> {
        Perm::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// The permission names in Lotus's order, as they appear in a token's `Allow` list.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Perm::as_str).collect()
    }
}

impl FromIterator<Perm> for PermSet {
    fn from_iter<I: IntoIterator<Item = Perm>>(iter: I) -> Self {
        let mut set = PermSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}
