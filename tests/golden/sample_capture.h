#pragma once
// Builds a capture holding every UFTP 4 message type, with and without each
// extension, encoded by our own encoder: read back by tshark, it proves the
// encoder against an independent reader for the types the reference captures
// do not contain (STATUS, ABORT, CONG_CTRL, the proxy messages, TFMCC ...).

#include <string>

namespace skycast::golden {

// Writes the capture (Ethernet/IPv4/UDP to port 1044) to `path`; returns the
// number of UFTP datagrams in it (the last one is split into IPv4 fragments,
// so there are more frames than datagrams).
int write_sample_capture(const std::string& path);

} // namespace skycast::golden
