#!/bin/sh
# Builds Kurma: ./build.sh            compile everything (stage2 included), no tests
#               ./build.sh test       build and run the whole test suite (needs root)
# Selects Temurin 25 itself, so it works whatever `java` is on the PATH.
set -e
cd "$(dirname "$0")"
if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
  JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
  export JAVA_HOME
fi
# Maven itself (guava) trips JDK 25's sun.misc.Unsafe warnings; they are not ours.
MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
export MAVEN_OPTS
case "${1:-}" in
  test) shift; exec mvn -B -ntp package "$@" ;;
  "") exec mvn -B -ntp -q -DskipTests package ;;
  *) exec mvn -B -ntp "$@" ;;
esac
