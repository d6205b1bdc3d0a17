//! The payload of one Raft entry: the requests the leader gathered while the previous entry was
//! being written, so that one log fsync carries many writes. Each gets its own response, in
//! order.
//!
//! A batch is encoded once. The leader's log, the AppendEntries to each follower and each
//! follower's own log all write the same bytes, so a batch keeps its encoding (MessagePack of
//! its requests, made the first time it is needed, or the bytes it was decoded from) and
//! serializes as that byte string. Entries of builds that wrote a batch as a plain sequence of
//! requests still decode.

use super::command::Request;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::sync::{Arc, OnceLock};

#[derive(Clone)]
pub struct Batch {
    requests: Arc<Vec<Request>>,
    encoded: Arc<OnceLock<Vec<u8>>>,
}

impl Batch {
    pub fn new(requests: Vec<Request>) -> Batch {
        Batch {
            requests: Arc::new(requests),
            encoded: Arc::new(OnceLock::new()),
        }
    }

    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// The requests' encoding, made on first use and shared by every clone.
    fn encoded(&self) -> Result<&[u8], rmp_serde::encode::Error> {
        if let Some(bytes) = self.encoded.get() {
            return Ok(bytes);
        }
        let bytes = rmp_serde::to_vec_named(&*self.requests)?;
        Ok(self.encoded.get_or_init(|| bytes))
    }
}

impl PartialEq for Batch {
    fn eq(&self, other: &Batch) -> bool {
        self.requests == other.requests
    }
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Batch").field(&self.requests).finish()
    }
}

impl Serialize for Batch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self.encoded().map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(bytes)
    }
}

impl<'de> Deserialize<'de> for Batch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Batch, D::Error> {
        deserializer.deserialize_any(BatchVisitor)
    }
}

struct BatchVisitor;

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = Batch;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch of requests: their encoding as bytes, or a sequence of them")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Batch, E> {
        self.visit_byte_buf(bytes.to_vec())
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Batch, E> {
        let requests: Vec<Request> = rmp_serde::from_slice(&bytes).map_err(E::custom)?;
        Ok(Batch {
            requests: Arc::new(requests),
            encoded: Arc::new(OnceLock::from(bytes)),
        })
    }

    /// An entry written by an earlier build: the requests inline.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch, A::Error> {
        let mut requests = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(request) = seq.next_element()? {
            requests.push(request);
        }
        Ok(Batch::new(requests))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::command::Command;
    use crate::state::ids::{FrameworkId, RequestId};
    use crate::state::path::PathId;
    use crate::state::time::Timestamp;

    fn batch() -> Batch {
        Batch::new(vec![
            Request::new(
                Timestamp(1),
                None,
                Command::SetFrameworkId {
                    id: FrameworkId("f-1".into()),
                },
            ),
            Request::new(
                Timestamp(2),
                Some(RequestId("r-2".into())),
                Command::ResetLaunchDelay {
                    app: PathId::parse("/web", None).expect("path"),
                },
            ),
        ])
    }

    #[test]
    fn a_batch_round_trips_and_is_encoded_once() {
        let batch = batch();
        let first = rmp_serde::to_vec_named(&batch).expect("encodes");
        let copy = batch.clone();
        assert!(
            std::ptr::eq(
                batch.encoded().expect("encoded").as_ptr(),
                copy.encoded().expect("encoded").as_ptr()
            ),
            "clones share one encoding"
        );
        assert_eq!(rmp_serde::to_vec_named(&copy).expect("encodes"), first);
        let decoded: Batch = rmp_serde::from_slice(&first).expect("decodes");
        assert_eq!(decoded, batch);
        // A decoded batch re-encodes to the bytes it came from, without encoding again.
        assert_eq!(rmp_serde::to_vec_named(&decoded).expect("encodes"), first);
    }

    #[test]
    fn a_batch_written_as_a_sequence_still_decodes() {
        let batch = batch();
        let earlier = rmp_serde::to_vec_named(&*batch.requests).expect("encodes");
        let decoded: Batch = rmp_serde::from_slice(&earlier).expect("decodes");
        assert_eq!(decoded, batch);
    }

    #[test]
    fn a_corrupt_encoding_is_an_error() {
        let garbage =
            rmp_serde::to_vec_named(&serde_bytes::Bytes::new(&[0xc1, 0x00])).expect("encodes");
        assert!(rmp_serde::from_slice::<Batch>(&garbage).is_err());
    }
}
