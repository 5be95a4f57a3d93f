"""The user's repository as the models see it, and the git worktree a session works in.

``git.py`` runs git (argument lists, never a shell, without the caller's ``GIT_*`` variables);
``tags.py`` parses a file with tree-sitter into its top-level symbols and the names it uses;
``tag_cache.py`` keeps those per file content hash (memory and disk, bounded); ``rank.py`` is the
personalized PageRank over the file reference graph; ``map.py`` builds and renders the
repository map within a token budget; ``worktree.py`` creates, commits to, lands and removes a
session's worktree. See docs/repository.md.
"""
