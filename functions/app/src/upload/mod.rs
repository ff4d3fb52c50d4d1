//! Uploads: tickets, receiving the bytes, checking them, recording attachments on their
//! subject and queueing cards, shelf photos and voice notes for capture.

pub mod http;
mod records;
pub(crate) use records::save as save_upload;
mod use_cases;

pub use records::{
    MergeDecision, PASTED_CARD_FILE, PastedCard, ProposalDecision, TranscriptCorrection,
    UploadStarted, correct_transcript, decide_proposal, get_upload, paste_card, start_upload,
};
pub use use_cases::*;
