"""Running ``nft``: one script, one transaction, a deadline, and the error as one line.

``nft`` is killed and reaped when the deadline passes or the caller is cancelled; a
failure is an ``NftError`` whose message is nft's own error text, flattened and bounded.
"""

from __future__ import annotations

import asyncio
import contextlib


class NftError(Exception):
    """nft could not run, failed, or did not finish in time."""


NFT_TIMEOUT = 10.0


async def run_nft(script: str, *, check: bool = False, limit: float = NFT_TIMEOUT) -> None:
    """Run ``script`` as one nft transaction (``check``: validate only, change nothing)."""
    argv = ["nft", *(["-c"] if check else []), "-f", "-"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as err:
        raise NftError(f"cannot run nft: {err.strerror or err}") from err
    try:
        async with asyncio.timeout(limit):
            out, err_text = await proc.communicate(script.encode())
    except TimeoutError:
        await _kill(proc)
        raise NftError(f"nft did not finish within {limit:.0f}s") from None
    except BaseException:
        await _kill(proc)
        raise
    if proc.returncode != 0:
        text = (err_text or out).decode(errors="replace").strip()
        raise NftError(f"nft failed (exit {proc.returncode}): {_brief(text)}")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()


def _brief(text: str, limit: int = 2000) -> str:
    """nft's error, on one line and bounded (it quotes the offending script line)."""
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[:limit] + "..."
