//! Loading the moderation state from a data dir once at start, through the same
//! `rampart_moderate::DataDir` the CLI uses; missing components are logged as warnings.

use std::path::Path;

use rampart_moderate::{DataDir, ImageModerator};

use crate::ServerError;

/// The image moderator (whose `text` field is the text moderator) for a data dir.
pub fn load_moderator(data: &Path) -> Result<ImageModerator, ServerError> {
    let dir = DataDir::new(data);
    let load = |e: rampart_moderate::LoadError| ServerError::Load(e.to_string());
    let policy = dir.policy(None).map_err(load)?;
    dir.image_moderator(policy, &mut |note| tracing::warn!("{note}"))
        .map_err(load)
}
