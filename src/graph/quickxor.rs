//! QuickXorHash: the content hash OneDrive for Business and SharePoint
//! report for a file (`file.hashes.quickXorHash`), written from the
//! published algorithm (OneDrive developer docs, "QuickXorHash").
//!
//! The hash is a 160-bit vector. Byte `i` of the input is XORed into it at
//! bit `11 * i mod 160`, wrapping around the end of the vector; the input's
//! length (64 bits, little-endian) is then XORed into the last 8 of its 20
//! bytes, and the 20 bytes are sent in base64.
//!
//! Since `11 * 160` is a multiple of 160, byte `i` lands where byte
//! `i + 160` does: the bytes are first folded into 160 lanes by XOR (one
//! operation per input byte) and the lanes are placed on the vector once,
//! when the hash is read.

use base64::Engine as _;

/// Width of the hash in bits.
const WIDTH: usize = 160;
/// How far each byte is placed from the one before, in bits.
const SHIFT: usize = 11;

/// A running QuickXorHash.
///
/// ```
/// use specbound::graph::QuickXorHash;
/// let mut hash = QuickXorHash::new();
/// hash.update(b"hello ");
/// hash.update(b"world");
/// assert_eq!(hash.base64(), QuickXorHash::of(b"hello world"));
/// ```
#[derive(Clone)]
pub struct QuickXorHash {
    /// Lane `k` holds the XOR of every input byte `i` with `i % 160 == k`.
    lanes: [u8; WIDTH],
    /// Bytes hashed so far.
    len: u64,
}

impl QuickXorHash {
    /// An empty hash.
    pub fn new() -> Self {
        QuickXorHash {
            lanes: [0; WIDTH],
            len: 0,
        }
    }

    /// The base64 hash of `bytes`, as Graph reports it.
    pub fn of(bytes: &[u8]) -> String {
        let mut hash = QuickXorHash::new();
        hash.update(bytes);
        hash.base64()
    }

    /// Adds `bytes` after those already hashed.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut lane = (self.len % WIDTH as u64) as usize;
        for &b in bytes {
            self.lanes[lane] ^= b;
            lane += 1;
            if lane == WIDTH {
                lane = 0;
            }
        }
        self.len += bytes.len() as u64;
    }

    /// How many bytes were hashed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was hashed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The 20 bytes of the hash of everything added so far.
    pub fn digest(&self) -> [u8; WIDTH / 8] {
        let mut out = [0u8; WIDTH / 8];
        for (k, &lane) in self.lanes.iter().enumerate() {
            let bit = k * SHIFT % WIDTH;
            // The byte covers bits `bit..bit + 8`, over two bytes of `out`
            // (the second wrapping to the start).
            let spread = u16::from(lane) << (bit % 8);
            let at = bit / 8;
            out[at] ^= spread as u8;
            out[(at + 1) % out.len()] ^= (spread >> 8) as u8;
        }
        for (o, l) in out[WIDTH / 8 - 8..].iter_mut().zip(self.len.to_le_bytes()) {
            *o ^= l;
        }
        out
    }

    /// The hash in base64, as `quickXorHash` holds it.
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.digest())
    }
}

impl Default for QuickXorHash {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for QuickXorHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuickXorHash")
            .field("len", &self.len)
            .field("hash", &self.base64())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (input in base64, hash in base64): the test vectors of rclone's
    /// port of Microsoft's reference code,
    /// `rclone/rclone` `backend/onedrive/quickxorhash/quickxorhash_test.go`
    /// (inputs of 0 to 20 bytes, 64 bytes and 111 bytes).
    const VECTORS: &[(&str, &str)] = &[
        ("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ("Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="),
        ("tbQ=", "taAFAAAAAAAAAAAAAgAAAAAAAAA="),
        ("0pZP", "0rDEEwAAAAAAAAAAAwAAAAAAAAA="),
        ("jRRDVA==", "jaDAEKgAAAAAAAAABAAAAAAAAAA="),
        ("eAV52qE=", "eChAHrQRCgAAAAAABQAAAAAAAAA="),
        ("luBZlaT6", "lgBHFipBCn0AAAAABgAAAAAAAAA="),
        ("qaApEj66lw==", "qQBFCiTgA11cAgAABwAAAAAAAAA="),
        ("/aNzzCFPS/A=", "/RjFHJgRgicsAR4ACAAAAAAAAAA="),
        ("n6Neh7p6fFgm", "nxiFFw6hCz3wAQsmCQAAAAAAAAA="),
        ("J9iPGCbfZSTNyw==", "J8DGIzBggm+UgQTNUgYAAAAAAAA="),
        ("i+UZyUGJKh+ISbk=", "iyhHBpIRhESo4AOIQ0IuAAAAAAA="),
        ("h490d57Pqz5q2rtT", "h3gEHe7giWeswgdq3MYupgAAAAA="),
        ("vPgoDjOfO6fm71RxLw==", "vMAHChwwg0/s4BTmdQcV4vACAAA="),
        ("XoJ1AsoR4fDYJrDqYs4=", "XhBEHQSgjAiEAx7YPgEs1CEGZwA="),
        ("gQaybEqS/4UlDc8e4IJm", "gDCALNigBEn8oxAlZ8AzPAAOQZg="),
        ("2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="),
        ("XBV6YKU9V7yMakZnFIxIkuU=", "HbplHsBQih5cgReMQYMRzkABRiA="),
        ("XJZSOiNO2bmfKnTKD7fztcQX", "/6ZArHQwAidkIxefQgEdlPGAW8w="),
        (
            "g8VtAh+2Kf4k0kY5tzji2i2zmA==",
            "wDNrgwHWAVukwB8kg4YRcnALHIg=",
        ),
        (
            "T6LYJIfDh81JrAK309H2JMJTXis=",
            "zBTHrspn3mEcohlJdIUAbjGNaNg=",
        ),
        (
            "Mb7EGva2rEE5fENDL85P+BsapHEEjv2/siVhKjvAQe02feExVOQSkfmuYzU/kTF1MaKjPmKF/w+cbvwfdWL8aQ==",
            "n1anP5NfvD4XDYWIeRPW3ZkPv1Y=",
        ),
        (
            "jyibxJSzO6ZiZ0O1qe3tG/bvIAYssvukh9suIT5wEy1JBINVgPiqdsTW0cOpP0aUfP7mgqLfADkzI/m/GgCuVhr8oFLrOCoTx1/psBOWwhltCbhUx51Icm9aH8tY4Z3ccU+6BKpYQkLCy0B/A9Zc",
            "hZfLIilSITC6N3e3tQ/iSgEzkto=",
        ),
    ];

    fn input(b64: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }

    #[test]
    fn the_published_vectors_hash_as_rclone_and_microsoft_do() {
        for (i, (data, want)) in VECTORS.iter().enumerate() {
            assert_eq!(QuickXorHash::of(&input(data)), *want, "vector {i}");
        }
    }

    #[test]
    fn hashing_in_pieces_gives_the_hash_of_the_whole() {
        for (data, want) in VECTORS {
            let bytes = input(data);
            for piece in [1, 2, 7, 8, 64, 159, 160, 161] {
                let mut hash = QuickXorHash::new();
                for part in bytes.chunks(piece) {
                    hash.update(part);
                }
                assert_eq!(hash.base64(), *want, "pieces of {piece}");
                assert_eq!(hash.len(), bytes.len() as u64);
            }
        }
    }

    #[test]
    fn more_than_one_round_of_160_bytes_wraps_and_counts_the_length() {
        // 0..=255 twice: the lanes fold several rounds, and the length (512)
        // is XORed into bytes 12..20.
        let bytes: Vec<u8> = (0..512).map(|i| i as u8).collect();
        let mut whole = QuickXorHash::new();
        whole.update(&bytes);
        let mut split = QuickXorHash::new();
        split.update(&bytes[..333]);
        split.update(&bytes[333..]);
        assert_eq!(whole.digest(), split.digest());
        assert_ne!(whole.base64(), QuickXorHash::of(&bytes[..511]));
    }
}
