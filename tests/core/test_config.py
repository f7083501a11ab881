from __future__ import annotations

from pathlib import Path

import pytest

from mmrag.config import Config, load_config
from mmrag.errors import ConfigError


def test_defaults() -> None:
    cfg = load_config(environ={}, path=None)
    assert cfg == Config()
    assert cfg.search.k == 10 and cfg.space.name == "auto"


def test_precedence_toml_env_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "mmrag.toml"
    toml.write_text('index = "./from-toml"\n[search]\nk = 20\nfusion = "rrf"\n[space]\nname = "minilm"\n')
    env = {"MMRAG_SEARCH_K": "30", "MMRAG_GENERATE_BASE_URL": "http://127.0.0.1:9/v1", "HOME": "/x"}
    cfg = load_config({"space.name": "clip"}, path=toml, environ=env)
    assert cfg.index == "./from-toml"
    assert cfg.search.k == 30  # env beats toml
    assert cfg.search.fusion == "rrf"  # toml beats default
    assert cfg.space.name == "clip"  # override beats toml
    assert cfg.generate.base_url == "http://127.0.0.1:9/v1"


def test_env_booleans_and_optionals() -> None:
    cfg = load_config(environ={"MMRAG_INGEST_OCR": "no", "MMRAG_SPACE_MODEL": "none", "MMRAG_INDEX": "/tmp/i"})
    assert cfg.ingest.ocr is False
    assert cfg.space.model is None
    assert cfg.index == "/tmp/i"


def test_bad_values_say_what_and_where(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment: 'search.k' must be int"):
        load_config(environ={"MMRAG_SEARCH_K": "many"})
    bad = tmp_path / "mmrag.toml"
    bad.write_text("[search]\nkk = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'search.kk'.*Keys of \\[search\\]"):
        load_config(path=bad, environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[search\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path=broken, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(path=tmp_path / "missing.toml", environ={})
    with pytest.raises(ConfigError, match="unknown section"):
        Config().with_overrides({"nope.k": 1})


def test_overrides_ignore_none() -> None:
    cfg = Config().with_overrides({"search.k": None, "search.hybrid": "false"})
    assert cfg.search.k == 10 and cfg.search.hybrid is False


def test_exclude_patterns_from_toml_list_env_commas_and_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "mmrag.toml"
    toml.write_text('[ingest]\nexclude = ["_build/", "*.min.js"]\nignore_files = false\n')
    cfg = load_config(path=toml, environ={})
    assert cfg.ingest.exclude == ("_build/", "*.min.js") and cfg.ingest.ignore_files is False
    cfg = load_config(environ={"MMRAG_INGEST_EXCLUDE": "*.css, node_modules/ ,"})
    assert cfg.ingest.exclude == ("*.css", "node_modules/")
    assert Config().with_overrides({"ingest.exclude": ("a", "b")}).ingest.exclude == ("a", "b")
    bad = tmp_path / "bad.toml"
    bad.write_text("[ingest]\nexclude = [1, 2]\n")
    with pytest.raises(ConfigError, match="'ingest.exclude' must be a list of strings"):
        load_config(path=bad, environ={})
