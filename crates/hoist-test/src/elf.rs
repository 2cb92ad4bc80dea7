//! Which machine a binary in an image was built for, read from its ELF header: a multi-platform
//! build must put each platform's own binary in each image.

/// ELF `e_machine` of x86-64.
pub const EM_X86_64: u16 = 0x3E;
/// ELF `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 0xB7;

/// The `e_machine` of an ELF file; fails the test if `bytes` is not ELF.
pub fn elf_machine(bytes: &[u8]) -> u16 {
    assert!(
        bytes.len() > 20 && bytes.starts_with(b"\x7fELF"),
        "not an ELF file"
    );
    u16::from_le_bytes([bytes[18], bytes[19]])
}

/// This machine's `GOARCH`: what Go builds for when no platform is asked for.
pub fn host_goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("no GOARCH known for {other}"),
    }
}
