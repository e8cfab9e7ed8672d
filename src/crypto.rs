//! RSA key pairs for local actors: generated off the async runtime in production, drawn from a
//! fixed set of pre-generated keys in tests (generation takes up to a second per key).

use crate::error::{Error, Result};
use activitypub_federation::http_signatures::{Keypair, generate_actor_keypair};
use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// Where new actors get their key pairs from.
#[derive(Clone)]
pub enum KeypairSource {
    /// A fresh RSA-2048 key pair per actor.
    Generate,
    /// Hand out these pairs in turn. For tests only: keys are shared between test runs.
    Pregenerated(Arc<PregeneratedKeys>),
}

pub struct PregeneratedKeys {
    keypairs: Vec<Keypair>,
    next: AtomicUsize,
}

impl KeypairSource {
    pub fn pregenerated(keypairs: Vec<Keypair>) -> Self {
        KeypairSource::Pregenerated(Arc::new(PregeneratedKeys {
            keypairs,
            next: AtomicUsize::new(0),
        }))
    }

    /// A key pair for a new local actor.
    pub async fn new_keypair(&self) -> Result<Keypair> {
        match self {
            KeypairSource::Generate => tokio::task::spawn_blocking(generate_actor_keypair)
                .await
                .map_err(Error::internal)?
                .map_err(Error::from),
            KeypairSource::Pregenerated(keys) => {
                if keys.keypairs.is_empty() {
                    return Err(Error::internal("no pre-generated key pairs"));
                }
                let index = keys.next.fetch_add(1, Ordering::Relaxed) % keys.keypairs.len();
                Ok(keys.keypairs[index].clone())
            }
        }
    }
}
