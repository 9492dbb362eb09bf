/**
 * A small built-in list of the most common passwords (lower case), refused by the password policy.
 * It catches the passwords every credential-stuffing list tries first; it is not a breach corpus.
 * Compiled for qrelay from the usual "most common passwords" rankings; one token per word below.
 *
 * @see https://pages.nist.gov/800-63-4/sp800-63b.html#passwordver ("values known to be commonly used")
 */

const WORDS = `
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon
123123 baseball abc123 football monkey letmein 696969 shadow master 666666
qwertyuiop 123321 mustang 1234567890 michael 654321 superman 1qaz2wsx 7777777 121212
000000 qazwsx 123qwe killer trustno1 jordan jennifer zxcvbnm asdfgh hunter
buster soccer harley batman andrew tigger sunshine iloveyou 2000 charlie
robert thomas hockey ranger daniel starwars klaster 112233 george computer
michelle jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777
pass maggie 159753 aaaaaa ginger princess joshua cheese amanda summer
love ashley nicole chelsea biteme matthew access yankees 987654321 dallas
austin thunder taylor matrix merlin snoopy hammer silver1 jackson orange1
password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword pa$$word passwort motdepasse
qwerty123 qwerty1 qwerty12 qwertz qwert 1q2w3e4r 1q2w3e4r5t 1q2w3e 1qaz2wsx3edc zaq12wsx
123abc abc12345 abcd1234 a1b2c3 a1b2c3d4 aa123456 123456a 123456789a 12345qwert 12345678910
0123456789 87654321 9876543210 123654 147258369 147258 159357 741852963 789456123 456789
iloveyou1 iloveyou2 loveyou lovely loveme welcome welcome1 welcome123 hello hello123
admin admin123 administrator root toor guest login user test test123
testing secret secret123 changeme changeit default letmein1 trustme whatever nothing
sunshine1 princess1 football1 baseball1 monkey1 dragon1 shadow1 master1 superman1 batman1
starwars1 pokemon naruto minecraft fortnite roblox zelda mario pikachu yugioh
samsung iphone apple google facebook linkedin twitter yahoo microsoft windows
internet computer1 qazwsxedc asdfghjkl asdfasdf asdf1234 zxcvbnm1 qweasd qweasdzxc 1qazxsw2
football123 baseball123 soccer123 hockey123 jordan23 michael1 charlie1 daniel1 jessica1 ashley1
michelle1 nicole1 thomas1 robert1 andrew1 joshua1 matthew1 jennifer1 amanda1 justin
jordan1 hunter1 hunter2 tigger1 buster1 ginger1 pepper1 cookie cookie1 chocolate
butterfly flower flowers purple orange yellow banana cherry diamond silver
golden angel angels angel1 babygirl baby babyboy family friends forever
jesus jesus1 christ blessed god godisgood heaven faith trinity lucky
lucky1 lucky7 money money1 rich dollar business cash cash1 gold
killer1 hacker hacked security secure private letmein123 opensesame open sesame
liverpool arsenal chelsea1 barcelona realmadrid manchester united juventus milan madrid
london paris berlin newyork boston chicago toronto sydney tokyo canada
america usa123 england france germany brazil mexico india china russia
spiderman ironman wolverine avengers marvel starwars2 skywalker vader jedi matrix1
dragonball goku sasuke sakura hello1 hellokitty kitty kitten puppy doggy
tiger lion eagle falcon wolf bear shark dolphin horse rabbit
corvette ferrari porsche mercedes bmw audi toyota honda nissan mustang1
chevy camaro harley1 yamaha ducati suzuki kawasaki jeep ford dodge
qwerty1234 qwerty12345 1234qwer 1234abcd abcdef abcdefg abcdefgh abcdefghi abcdefghij abc
aaaaaaaa aaaaaaaaaa 1111111111 0000000000 00000000 88888888 99999999 12341234 11223344 12121212
123123123 321321 102030 101010 202020 112211 121314 123456q 123456qwerty 159951
zaq1zaq1 zaq1xsw2 xsw2zaq1 !qaz2wsx q1w2e3r4 q1w2e3r4t5 q1w2e3 1a2b3c4d asd123 qwe123
iloveyou123 qwerty123456 1q2w3e4r5t6y password12345 abcdefg123 princess123 superman123 letmein1234 welcome1234 zxcvbnm123
qwertyuiop1 asdfghjkl1 1234567890q 0987654321 1029384756 12345678900 123456789q a123456789 trustno123 michael123
princesa tequiero teamo amor amore cariño contraseña senha senha123 mot2passe
`

/** The list, lower case. Look up the lower-cased, NFKC-normalized password. */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(WORDS.split(/\s+/).filter((w) => w.length > 0))
