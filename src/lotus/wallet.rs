//! Wallet keys as Lotus exports and imports them (`types.KeyInfo`).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// The kind of a key. Written as its name; read as its name or as the number Forest writes (1: secp256k1, 2: bls,
/// 3: delegated), both of which Lotus reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyType {
    /// A secp256k1 key: an `f1` address.
    #[serde(rename = "secp256k1")]
    Secp256k1,
    /// A BLS key: an `f3` address.
    #[serde(rename = "bls")]
    Bls,
    /// A delegated (Ethereum-style secp256k1) key: an `f4` address.
    #[serde(rename = "delegated")]
    Delegated,
}

impl KeyType {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Secp256k1 => "secp256k1",
            KeyType::Bls => "bls",
            KeyType::Delegated => "delegated",
        }
    }

    /// The key type Forest writes as a number.
    pub fn from_number(n: u64) -> Option<KeyType> {
        match n {
            1 => Some(KeyType::Secp256k1),
            2 => Some(KeyType::Bls),
            3 => Some(KeyType::Delegated),
            _ => None,
        }
    }

    pub fn from_name(name: &str) -> Option<KeyType> {
        match name {
            "secp256k1" => Some(KeyType::Secp256k1),
            "bls" => Some(KeyType::Bls),
            "delegated" => Some(KeyType::Delegated),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for KeyType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Name(String),
            Number(u64),
        }
        let expected = "a key type: \"secp256k1\", \"bls\" or \"delegated\" (or 1, 2, 3)";
        match Either::deserialize(d)
            .map_err(|_| serde::de::Error::custom(format!("expected {expected}")))?
        {
            Either::Name(n) => KeyType::from_name(&n).ok_or_else(|| {
                serde::de::Error::custom(format!("unknown key type \"{n}\": expected {expected}"))
            }),
            Either::Number(n) => KeyType::from_number(n).ok_or_else(|| {
                serde::de::Error::custom(format!("unknown key type {n}: expected {expected}"))
            }),
        }
    }
}

impl PartialSchema for KeyType {
    fn schema() -> RefOr<Schema> {
        // The REST contract names the kind; the numbers are only how Forest writes it to the gateway.
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .description(Some(
                "The kind of key: `secp256k1` (an `f1` address), `bls` (`f3`) or `delegated` (`f4`).",
            ))
            .enum_values(Some(["secp256k1", "bls", "delegated"]))
            .examples([json!("secp256k1")])
            .into()
    }
}

impl ToSchema for KeyType {}

/// A private key as Lotus exports and imports it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
#[schema(example = json!({"Type": "secp256k1", "PrivateKey": "8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo="}))]
pub struct KeyInfo {
    pub r#type: KeyType,
    /// The private key, base64.
    #[schema(format = Byte)]
    pub private_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_types_read_as_names_or_forest_numbers_and_write_as_names() {
        for (text, kind) in [
            (r#""bls""#, KeyType::Bls),
            ("2", KeyType::Bls),
            ("1", KeyType::Secp256k1),
            (r#""delegated""#, KeyType::Delegated),
        ] {
            assert_eq!(serde_json::from_str::<KeyType>(text).unwrap(), kind);
        }
        assert_eq!(serde_json::to_string(&KeyType::Bls).unwrap(), r#""bls""#);
        let e = serde_json::from_str::<KeyType>("7")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key type 7"), "{e}");
        assert!(serde_json::from_str::<KeyType>(r#""rsa""#).is_err());
    }
}
