"""Idea folders between hosts: through shared storage named by an fsspec URL (a bucket, or a folder every host
mounts), when the workspace itself is not shared. Paths inside it mirror the workspace."""

from pathlib import Path

from aisci.settings import Settings


def idea_path(settings: Settings, idea_dir: str) -> Path:
    """An idea folder given relative to the workspace (as it travels between hosts), or absolute."""
    path = Path(idea_dir)
    return path if path.is_absolute() else settings.workspace.expanduser().resolve() / path


def _remote(settings: Settings, folder: Path):
    import fsspec

    fs, root = fsspec.core.url_to_fs(settings.storage_url)
    relative = folder.resolve().relative_to(settings.workspace.expanduser().resolve())
    return fs, f"{root.rstrip('/')}/{relative.as_posix()}"


def push(settings: Settings, folder: Path) -> int:
    """Copy the folder's regular files up (links are never followed); returns how many."""
    fs, remote = _remote(settings, folder)
    count = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and not any(p.is_symlink() for p in path.parents):
            target = f"{remote}/{path.relative_to(folder).as_posix()}"
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(str(path), target)
            count += 1
    return count


def pull(settings: Settings, folder: Path) -> int:
    """Copy the stored files down into the folder; returns how many."""
    fs, remote = _remote(settings, folder)
    count = 0
    for name in fs.find(remote):
        relative = name[len(remote) :].lstrip("/")
        if not relative or ".." in Path(relative).parts:
            continue
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(name, str(target))
        count += 1
    return count
