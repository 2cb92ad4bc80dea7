//! Who hoist is to a registry: credentials, where they come from, and the challenge/token
//! dance that turns them into an `Authorization` header.

mod challenge;
mod credentials;
mod files;
mod token;

pub use challenge::Challenge;
pub use credentials::Credentials;
pub use files::{AuthFiles, CredentialSource};
pub(crate) use token::{Scope, TokenCache, key as token_key};
