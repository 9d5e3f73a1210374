//! RSA signature verification with aws-lc-rs.

use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_2048_8192_SHA384, RSA_PKCS1_2048_8192_SHA512,
    RSA_PSS_2048_8192_SHA256, RSA_PSS_2048_8192_SHA384, RSA_PSS_2048_8192_SHA512, RsaParameters,
    RsaPublicKeyComponents,
};

use crate::Failure;
use crate::jwks::RsaKey;
use crate::token::Alg;

pub const D_SIGNATURE: &str = "signature is invalid";

fn params(alg: Alg) -> &'static RsaParameters {
    match alg {
        Alg::Rs256 => &RSA_PKCS1_2048_8192_SHA256,
        Alg::Rs384 => &RSA_PKCS1_2048_8192_SHA384,
        Alg::Rs512 => &RSA_PKCS1_2048_8192_SHA512,
        Alg::Ps256 => &RSA_PSS_2048_8192_SHA256,
        Alg::Ps384 => &RSA_PSS_2048_8192_SHA384,
        Alg::Ps512 => &RSA_PSS_2048_8192_SHA512,
    }
}

/// Verifies `signature` over `message` with `key` for `alg`, explaining any failure.
pub fn verify(key: &RsaKey, alg: Alg, message: &[u8], signature: &[u8]) -> Result<(), Failure> {
    // A JWK that names its `alg` is only used for that algorithm (RFC 7517 §4.4): an RS256 key
    // never verifies a PS256 token. Keys without `alg` serve every RSA algorithm.
    if let Some(key_alg) = &key.alg
        && key_alg != alg.name()
    {
        return Err(Failure::new(
            D_SIGNATURE,
            format!(
                "token alg {} but JWKS key {} is for {key_alg}",
                alg.name(),
                key.describe()
            ),
        ));
    }
    let bits = key.n.len() * 8;
    if !(2048..=8192).contains(&bits) {
        return Err(Failure::new(
            D_SIGNATURE,
            format!(
                "JWKS key {} is {bits} bits; RSA keys must be 2048 to 8192 bits",
                key.describe()
            ),
        ));
    }
    if signature.len() != key.n.len() {
        return Err(Failure::new(
            D_SIGNATURE,
            format!(
                "signature is {} bytes but key {} needs {} (signed with another key?)",
                signature.len(),
                key.describe(),
                key.n.len()
            ),
        ));
    }
    let components = RsaPublicKeyComponents {
        n: &key.n[..],
        e: &key.e[..],
    };
    components.verify(params(alg), message, signature).map_err(|_| {
        Failure::new(
            D_SIGNATURE,
            format!(
                "{} signature does not verify with JWKS key {} (token altered, or signed by another key)",
                alg.name(),
                key.describe()
            ),
        )
    })
}
