//! [`Error`]: everything reading an archive or one of its members can fail with.

use std::fmt;
use std::io;

use zip::result::ZipError;

use crate::source;

/// Why an archive or a member could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The source failed (network, HTTP status, changed resource).
    Source(source::Error),
    /// No end-of-central-directory record in the archive's last bytes.
    NotAZip,
    /// The end records or the central directory contradict themselves or the file.
    Damaged(String),
    /// The zip crate could not parse the central directory.
    CentralDirectory(ZipError),
    /// One central directory entry could not be parsed.
    BadEntry(ZipError),
    /// The member is encrypted; rangecat cannot decrypt.
    Encrypted {
        /// The member's name.
        name: String,
    },
    /// The member uses a compression method rangecat cannot decompress.
    UnsupportedMethod {
        /// The member's name.
        name: String,
        /// The method's name (`method-99` for one without a name).
        method: String,
    },
    /// The bytes between a member's header and the next member (or the central directory)
    /// cannot hold its header and data.
    MemberOutOfPlace {
        /// The member's name.
        name: String,
        /// Where its local header starts.
        offset: u64,
        /// The bytes there are.
        room: u64,
        /// Its compressed size.
        compressed_size: u64,
    },
    /// No local header where the central directory says a member starts.
    NoLocalHeader {
        /// The member's name.
        name: String,
        /// The offset.
        offset: u64,
    },
    /// The member's local header or data could not be read.
    Member {
        /// The member's name.
        name: String,
        /// The failure.
        source: ZipError,
    },
    /// The decompressed data does not match the central directory's CRC-32.
    CrcMismatch {
        /// The member's name.
        name: String,
        /// The CRC-32 the archive records.
        crc32: u32,
    },
    /// Decompressing the member failed.
    Decompress {
        /// The member's name.
        name: String,
        /// The failure.
        source: io::Error,
    },
    /// The member decompressed to another size than the central directory says.
    SizeMismatch {
        /// The member's name.
        name: String,
        /// Bytes it decompressed to.
        got: u64,
        /// Bytes the central directory says.
        expected: u64,
    },
    /// A member held in memory (a link target, a small member `cat` checks first) is larger
    /// than its limit.
    TooLarge {
        /// The member's name.
        name: String,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The member's decompressor would need more memory than rangecat gives one (an LZMA or
    /// xz dictionary, a PPMd model: [`super::MAX_DECODER_MEMORY`]).
    DecoderMemory {
        /// The member's name.
        name: String,
        /// The method that asks for it.
        method: &'static str,
        /// The memory it would need, in bytes.
        needed: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// Fetching a member's bytes failed.
    Fetch {
        /// The member's name.
        name: String,
        /// The failure.
        source: source::Error,
    },
    /// An archive from a server that ignores Range could not be spooled to a temporary file.
    Spool {
        /// What failed: creating the file or downloading into it.
        what: &'static str,
        /// The failure.
        source: io::Error,
    },
    /// The output could not be written (a closed pipe is `BrokenPipe`).
    Write(io::Error),
    /// `--in`: the archive has no member of that name.
    NoSuchInner {
        /// The name asked for.
        name: String,
    },
    /// `--in`: the member is compressed, so its bytes are not a zip that can be read in place.
    CompressedInner {
        /// The member's name.
        name: String,
        /// Its compression method.
        method: String,
        /// Its compressed size.
        compressed_size: u64,
    },
    /// The extraction directory could not be created.
    CreateDirectory {
        /// The directory.
        path: std::path::PathBuf,
        /// The failure.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Source(err) => write!(f, "{err}"),
            Error::NotAZip => write!(f, "not a zip archive (no end-of-central-directory record)"),
            Error::Damaged(what) => write!(f, "{what}"),
            Error::CentralDirectory(_) => write!(f, "cannot read the central directory"),
            Error::BadEntry(_) => write!(f, "bad central directory entry"),
            Error::Encrypted { name } => {
                write!(f, "{name} is encrypted; rangecat cannot decrypt members")
            }
            Error::UnsupportedMethod { name, method } => write!(
                f,
                "{name} uses compression method {method}, which rangecat does not support"
            ),
            Error::MemberOutOfPlace {
                name,
                offset,
                room,
                compressed_size,
            } => write!(
                f,
                "damaged archive: {name} at offset {offset} has {room} bytes before the next \
                 member or the central directory, too few for its header and {compressed_size} \
                 bytes of data"
            ),
            Error::NoLocalHeader { name, offset } => {
                write!(f, "{name}: no local header at offset {offset}")
            }
            Error::Member { name, .. } => write!(f, "cannot read member {name}"),
            Error::CrcMismatch { name, crc32 } => write!(
                f,
                "{name}: CRC-32 mismatch: the data does not match the archive's checksum {crc32:08x}"
            ),
            Error::Decompress { name, .. } => write!(f, "cannot decompress {name}"),
            Error::SizeMismatch {
                name,
                got,
                expected,
            } => write!(
                f,
                "{name}: decompressed to {got} bytes, but the central directory says {expected}"
            ),
            Error::TooLarge { name, limit } => {
                write!(f, "{name}: decompresses to more than {limit} bytes")
            }
            Error::DecoderMemory {
                name,
                method,
                needed,
                limit,
            } => write!(
                f,
                "{name}: its {method} data asks for {needed} bytes of decompressor memory, \
                 more than rangecat's limit of {limit}"
            ),
            Error::Fetch { name, .. } => write!(f, "cannot fetch member {name}"),
            Error::Spool { what, .. } => write!(f, "{what}"),
            Error::Write(_) => write!(f, "cannot write the output"),
            Error::CreateDirectory { path, .. } => write!(f, "cannot create {}", path.display()),
            Error::NoSuchInner { name } => write!(f, "{name}: no such member"),
            Error::CompressedInner {
                name,
                method,
                compressed_size,
            } => write!(
                f,
                "{name} is compressed ({method}, {compressed_size} bytes): only a stored archive \
                 can be read in place"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Its message is this one's: go on with what lies beneath it.
            Error::Source(err) => std::error::Error::source(err),
            Error::CentralDirectory(err) | Error::BadEntry(err) => Some(err),
            Error::Member { source, .. } => Some(source),
            Error::Fetch { source, .. } => Some(source),
            Error::Decompress { source, .. } | Error::CreateDirectory { source, .. } => {
                Some(source)
            }
            Error::Spool { source, .. } => Some(source),
            Error::Write(err) => Some(err),
            _ => None,
        }
    }
}

impl Error {
    /// The source's failure this is, if it is one (also fetching a member's bytes).
    pub fn source_error(&self) -> Option<&source::Error> {
        match self {
            Error::Source(err) | Error::Fetch { source: err, .. } => Some(err),
            _ => None,
        }
    }

    /// The output's failure this is, if it is one (a closed pipe is `BrokenPipe`).
    pub fn write_error(&self) -> Option<&io::Error> {
        match self {
            Error::Write(err) => Some(err),
            _ => None,
        }
    }
}

impl From<source::Error> for Error {
    fn from(err: source::Error) -> Error {
        Error::Source(err)
    }
}
