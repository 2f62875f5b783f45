"""The attack catalog and the verdict matrix, run again through warm-pool containers (see conftest):
the pool changes when a container starts, never what it is."""

from tests.integration.sandbox.test_attacks import (  # noqa: F401 - collected here with the pooled `run`
    host_disk,
    redis_port,
    test_a_million_files,
    test_a_signal_storm_while_the_supervisor_cleans_up,
    test_compile_time_attacks,
    test_cpu_loop_sleep_pause_and_sigstop_end_at_the_limit,
    test_disk_fill_single_file_hits_the_file_size_limit,
    test_filling_the_tmpfs_stops_at_its_size,
    test_fork_bomb,
    test_memory_bomb,
    test_memory_that_rlimit_data_does_not_count_is_refused,
    test_network_is_unreachable,
    test_only_standard_fds_are_open,
    test_only_the_tmpfs_mounts_are_writable,
    test_output_flood,
    test_privileged_syscalls_are_refused,
    test_proc_and_environment_leak_nothing,
    test_proc_self_exe_cannot_be_overwritten,
    test_seek_two_gigabytes_and_write,
    test_setsid_daemon_is_killed_when_the_program_ends,
    test_signals_to_the_supervisor,
    test_symlink_plants_do_not_reach_the_host_or_the_next_run,
)
from tests.integration.sandbox.test_verdicts import (  # noqa: F401
    test_checkers,
    test_many_tests_compile_once,
    test_seed_example_accepted,
    test_seed_example_wrong_answer_shows_output,
    test_verdict_matrix,
)
