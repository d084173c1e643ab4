#pragma once
// The receiver's file-system side of one FILEINFO: a regular file is received
// into a temp file (in temp_dir, or beside its final name) and renamed into place only once
// every block is there, with the sender's mtime applied first; a directory,
// symlink or delete is applied at once. A temp file carries temp_marker in
// its name, so nothing half-received ever looks like the real file, and
// remove_stale_temp_files() clears what a crashed session left behind.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace skycast::control::engine {

inline constexpr std::string_view temp_marker = ".~skycast-";

// "<dir>/.~skycast-<server hex>-<group hex>-<file id>": a temp file per
// session and file, at most 40 bytes of name whatever the final name is (a
// name derived from a 255-byte final name would pass NAME_MAX). `dir` is the
// configured temp_dir, or the final name's directory.
std::string temp_path_for(const std::string& dir, std::uint32_t server_id, std::uint32_t group_id,
                          std::uint16_t file_id);

// "a/b/c" -> "a/b"; "/c" -> "/"; "c" -> ".".
std::string parent_directory(const std::string& path);

// Creates an empty temp file (replacing a stale one, never following a link).
bool create_temp_file(const std::string& temp_path);

// Applies mtime to the temp file and renames it over `final_path`. Refuses
// to replace a directory. On failure the temp file is removed.
bool move_into_place(const std::string& temp_path, const std::string& final_path,
                     std::uint32_t mtime, std::optional<std::uint16_t> mode = std::nullopt);

// Removes a temp file of an aborted or refused transfer.
void discard_temp_file(const std::string& temp_path);

// FILEINFO types other than regular files.
// `mode`: the sender's permission bits, applied without setuid/setgid/sticky
// (a received file never gains privileges); nullopt keeps 0777 & ~umask.
bool make_directory(const std::string& final_path, std::uint32_t mtime,
                    std::optional<std::uint16_t> mode = std::nullopt);
bool make_symlink(const std::string& final_path, const std::string& target);
bool delete_path(const std::string& final_path);

// Deletes every temp file under `destination` (recursively, without
// following symlinks); returns how many it removed. The node calls it once at
// start, on its temp_dir (or destination), before any session runs: what is
// there then was left by a crash. Sessions never call it (they would remove
// each other's partial files).
std::uint32_t remove_stale_temp_files(const std::string& destination);

} // namespace skycast::control::engine
