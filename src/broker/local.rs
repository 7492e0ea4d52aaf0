//! The private local transport rumqttc connects to: a Unix socket in a fresh 0700 directory.
//!
//! Not a TCP port: any local user could connect to one and ride on our credentials. The socket
//! lives in a directory only we can enter, and each accepted peer must be this very process.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

/// A listening socket in a private directory, removed on drop.
#[derive(Debug)]
pub struct LocalSocket {
    dir: PathBuf,
    path: PathBuf,
    listener: UnixListener,
}

impl LocalSocket {
    /// Creates the directory (mode 0700) and binds the socket in it.
    pub fn bind() -> io::Result<Self> {
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!(
            "mqscope-{}-{:x}",
            std::process::id(),
            crate::random::u64()
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let path = dir.join("link.sock");
        let listener = UnixListener::bind(&path)?;
        Ok(Self {
            dir,
            path,
            listener,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts the next connection from this process; others are dropped.
    pub async fn accept_own(&self) -> io::Result<UnixStream> {
        let me = std::process::id();
        loop {
            let (stream, _) = self.listener.accept().await?;
            let pid = stream.peer_cred().ok().and_then(|c| c.pid());
            if pid.and_then(|p| u32::try_from(p).ok()) == Some(me) {
                return Ok(stream);
            }
            tracing::warn!(?pid, "refused a local connection from another process");
        }
    }
}

impl Drop for LocalSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn directory_is_private_and_removed_on_drop() {
        let socket = LocalSocket::bind().expect("bind");
        let dir = socket.path().parent().expect("parent").to_path_buf();
        let mode = std::fs::metadata(&dir).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let path = socket.path().to_path_buf();
        let client = tokio::spawn(async move { UnixStream::connect(path).await });
        let accepted = socket.accept_own().await;
        assert!(accepted.is_ok());
        assert!(client.await.expect("join").is_ok());
        drop(socket);
        assert!(!dir.exists());
    }
}
