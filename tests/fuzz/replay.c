/*
 * replay.c - the main() of a fuzz target built without libFuzzer: runs
 * the target once on every file named, or on every file in a directory
 * named, so that make test replays the seed corpus with any compiler.
 *
 *   twopc-fuzz-NAME-replay PATH...      exit 0, or the target's crash
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		perror(path);
		return -1;
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || n < 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int files = 0, bad = 0;
	for (int a = 1; a < argc; a++) {
		struct stat st;
		if (stat(argv[a], &st) != 0 || !S_ISDIR(st.st_mode)) {
			bad |= replay_file(argv[a]) != 0;
			files++;
			continue;
		}
		DIR *d = opendir(argv[a]);
		struct dirent *e;
		while (d != NULL && (e = readdir(d)) != NULL) {
			char p[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", argv[a], e->d_name);
			bad |= replay_file(p) != 0;
			files++;
		}
		if (d != NULL)
			closedir(d);
	}
	printf("%s: %d inputs replayed, no crash\n", argv[0], files);
	return bad || files == 0 ? 1 : 0;
}
