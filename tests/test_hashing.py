"""ftlab.hashing: one block-wise sha256 for every file the course fingerprints."""
import hashlib

from ftlab.hashing import file_sha256


def test_file_sha256_matches_hashlib_across_block_boundaries(tmp_path):
    for size in (0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7):
        data = bytes(i % 251 for i in range(size))
        path = tmp_path / f"f{size}"
        path.write_bytes(data)
        assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_file_sha256_tells_files_apart(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"riga 1\n")
    b.write_bytes(b"riga 1\r\n")
    assert file_sha256(a) != file_sha256(b)
